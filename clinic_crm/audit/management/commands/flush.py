"""``flush`` as the owner role: only the owner of the append-only tables may TRUNCATE
them (their triggers let no one else through). The test suite's transactional tests
flush through this command."""

from django.core.management.commands.flush import Command as DjangoFlush

from clinic_crm.db import owner_connection


class Command(DjangoFlush):
    help = DjangoFlush.help + " Runs as the owner role (DATABASE_MIGRATE_URL)."

    def handle(self, **options):
        with owner_connection(options["database"]):
            super().handle(**options)
