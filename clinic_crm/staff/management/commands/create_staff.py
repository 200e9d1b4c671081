from django.core.management.base import BaseCommand, CommandError

from clinic_crm.staff.roles import Role
from clinic_crm.staff.services import StaffError, staff_create


class Command(BaseCommand):
    help = "Creates a staff member with a role. They set up their second factor at first login."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--role", required=True, help="One of: " + ", ".join(Role.values))
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument(
            "--password", default="", help="Leave out to generate one; it is printed once."
        )

    def handle(self, *args, **options):
        try:
            user, generated = staff_create(
                email=options["email"],
                role=options["role"],
                password=options["password"] or None,
                first_name=options["first_name"],
                last_name=options["last_name"],
            )
        except StaffError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Created {user.email} ({options['role']})."))
        if generated:
            self.stdout.write(f"Password (shown once): {generated}")
        self.stdout.write("At first login they will set up an authenticator app.")
