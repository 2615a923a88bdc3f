from django.core.management.base import BaseCommand, CommandError

from audit.services import audit_chain_verify


class Command(BaseCommand):
    help = "Checks the audit trail's hash chain and reports the first broken link."

    def handle(self, *args, **options):
        checked, chain_break = audit_chain_verify()
        if chain_break is not None:
            where = f"event {chain_break.event_id}" if chain_break.event_id else "the end"
            raise CommandError(
                f"Audit trail broken at {where}: {chain_break.reason}. "
                f"{checked} events before it verified."
            )
        self.stdout.write(self.style.SUCCESS(f"Audit trail intact: {checked} events verified."))
