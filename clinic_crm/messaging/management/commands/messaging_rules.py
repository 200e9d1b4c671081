from django.core.management.base import BaseCommand

from clinic_crm.messaging.rules import messaging_rules_run


class Command(BaseCommand):
    help = "Plans today's check-up invitations, reactivations, greetings and stage materials."

    def handle(self, *args, **options):
        for rule, planned in messaging_rules_run().items():
            self.stdout.write(f"{rule}: {planned}")
