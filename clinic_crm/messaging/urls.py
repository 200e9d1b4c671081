from django.urls import path

from . import views

app_name = "messaging"
urlpatterns = [
    path("messages/", views.outbox_view, name="outbox"),
    path("messages/<int:message_id>/retry/", views.message_retry_view, name="retry"),
    path("messages/templates/preview/", views.template_preview_view, name="template_preview"),
    path("p/optout/<str:token>/", views.optout_view, name="optout"),
    path(
        "messages/callback/<str:channel>/<str:token>/",
        views.delivery_callback_view,
        name="delivery_callback",
    ),
]
