from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MetricsConfig(AppConfig):
    name = "metrics"
    verbose_name = _("Metrics")

    def ready(self) -> None:
        from clinic_crm.signals import counted_change

        from .services import rollups_refresh_after_commit

        counted_change.connect(rollups_refresh_after_commit, dispatch_uid="metrics.rollups")

        from clinic_crm.staff.roles import Role, role_permissions_register

        role_permissions_register(
            "metrics", {Role.MANAGER: ["view_metricssettings", "change_metricssettings"]}
        )

        from clinic_crm.staff.navigation import nav_item_register

        nav_item_register(
            url_name="metrics:dashboard",
            label=_("Loyalty"),
            icon="graph-up",
            roles=[Role.MANAGER],
            order=60,
        )
        nav_item_register(
            url_name="metrics:report",
            label=_("Reports"),
            icon="graph-up",
            roles=[Role.ADMINISTRATOR, Role.DOCTOR, Role.CURATOR],
            order=70,
        )
        nav_item_register(
            url_name="metrics:weekly",
            label=_("Weekly reasons"),
            icon="calendar-week",
            roles=[Role.MANAGER],
            order=86,
            management=True,
        )
