from . import urls_plans, urls_scheduling

app_name = "journeys"
urlpatterns = [*urls_scheduling.urlpatterns, *urls_plans.urlpatterns]
