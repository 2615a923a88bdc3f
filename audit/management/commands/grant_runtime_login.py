from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from audit.runtime_login import runtime_grants, runtime_grants_apply


class Command(BaseCommand):
    help = (
        "Gives the runtime database login what the running portal needs and no more: on the "
        "audit trail, read and append only. Run it as the migration login (the tables' owner) "
        "after each migrate."
    )

    def add_arguments(self, parser):
        parser.add_argument("role", help="the runtime login's PostgreSQL role name")
        parser.add_argument(
            "--print", action="store_true", help="print the statements instead of running them"
        )

    def handle(self, *args, role, **options):
        if connection.vendor != "postgresql":
            raise CommandError("Database logins are separated on PostgreSQL only.")
        if options["print"]:
            for statement in runtime_grants(role=role):
                self.stdout.write(statement + ";")
            return
        with transaction.atomic():
            count = runtime_grants_apply(role=role)
        self.stdout.write(self.style.SUCCESS(f"{count} grants given to {role}."))
