"""The application's URLs plus the floor: the smallest staff view, behind the same
middleware (session, authentication, second factor) as every page."""

from django.http import HttpResponse
from django.urls import path

from clinic_crm.urls import handler400, handler403, handler404, handler500  # noqa: F401
from clinic_crm.urls import urlpatterns as app_urlpatterns


def floor_view(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench/floor/", floor_view, name="bench_floor"), *app_urlpatterns]
