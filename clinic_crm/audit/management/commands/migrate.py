"""``migrate`` as the owner role, then the application role's privileges granted anew.

This app's commands win over Django's own, so every ``migrate`` (``make run``, the
Docker set-up, the test database's creation) runs this one."""

from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import connections

from clinic_crm.db import app_privileges_grant, owner_connection, owner_credentials


class Command(DjangoMigrate):
    help = DjangoMigrate.help + " Runs as the owner role (DATABASE_MIGRATE_URL)."

    def handle(self, *args, **options):
        database = options["database"]
        # Nothing to grant when the application itself connects as the owner (one role).
        owner = owner_credentials(database)
        app_role = connections[database].settings_dict["USER"] if owner else None
        with owner_connection(database) as connection:
            super().handle(*args, **options)
            if app_role and not (options["plan"] or options["check_unapplied"]):
                app_privileges_grant(connection, app_role)
                if options["verbosity"] >= 1:
                    self.stdout.write(f"Privileges of the application role {app_role} granted.")
