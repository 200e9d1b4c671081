from . import urls_checklists, urls_plans, urls_scheduling

app_name = "journeys"
urlpatterns = [*urls_scheduling.urlpatterns, *urls_plans.urlpatterns, *urls_checklists.urlpatterns]
