from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from audit.services import SystemActor
from people.models import User
from people.services import password_set

DEMO_STAFF_CSV = Path(settings.BASE_DIR) / "demo" / "staff.csv"
DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - demo accounts only, printed by make run


class Command(BaseCommand):
    help = "Loads the demo staff directory and gives the demo accounts a password. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument(
            "--list-accounts", action="store_true", help="Only print the demo accounts"
        )

    def handle(self, *args, list_accounts=False, **options):
        if not list_accounts:
            call_command("import_staff", str(DEMO_STAFF_CSV), verbosity=options["verbosity"])
            for user in User.objects.filter(email__endswith="@example.gov.uk"):
                if not user.has_usable_password():
                    password_set(
                        user=user, password=DEMO_PASSWORD, actor=SystemActor("load_demo_data")
                    )
        self.stdout.write(f"Demo accounts (password for each: {DEMO_PASSWORD}):")
        accounts = User.objects.filter(email__endswith="@example.gov.uk").prefetch_related("groups")
        for user in accounts.order_by("email"):
            roles = ", ".join(group.name for group in user.groups.all())
            self.stdout.write(f"  {user.email:<34} {roles}")
