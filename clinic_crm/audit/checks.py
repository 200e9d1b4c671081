"""``manage.py check --deploy --database default`` warns when the application connects
to PostgreSQL as a role that could rewrite the audit log: a superuser, or the owner of
the tables (who may drop the append-only triggers)."""

from django.core.checks import Tags, Warning, register
from django.db import DEFAULT_DB_ALIAS, connections

HINT = (
    "Set DATABASE_URL to the application's own role and DATABASE_MIGRATE_URL to the "
    "owner of the tables (README, Configuration)."
)


@register(Tags.database, deploy=True)
def check_application_database_role(app_configs=None, databases=None, **kwargs):
    if not databases or DEFAULT_DB_ALIAS not in databases:
        return []
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper, pg_get_userbyid(c.relowner) = current_user "
            "FROM pg_roles LEFT JOIN pg_class c ON c.oid = to_regclass('audit_auditevent') "
            "WHERE rolname = current_user"
        )
        superuser, owner = cursor.fetchone()
    if superuser:
        return [
            Warning(
                "The application connects to PostgreSQL as a superuser, who can rewrite "
                "or remove audit rows.",
                hint=HINT,
                id="audit.W001",
            )
        ]
    if owner:
        return [
            Warning(
                "The application connects to PostgreSQL as the owner of its tables, who "
                "can drop the triggers that keep the audit log append-only.",
                hint=HINT,
                id="audit.W002",
            )
        ]
    return []
