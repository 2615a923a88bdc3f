from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit.checkpoints import audit_checkpoints_read, checkpoint_path
from audit.sequencer import audit_backlog
from audit.services import audit_chain_verify


class Command(BaseCommand):
    help = (
        "Checks the audit trail's keyed hash chain (it needs AUDIT_CHAIN_KEY) against the "
        "signed checkpoints kept outside the database, and reports the first broken link."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--checkpoints",
            type=Path,
            default=None,
            help="the folder of checkpoint files (default: AUDIT_CHECKPOINT_DIR)",
        )

    def handle(self, *args, **options):
        folder = options["checkpoints"]
        checkpoints, problems = audit_checkpoints_read(folder=folder)
        if problems:
            raise CommandError(
                "Audit checkpoints tampered with: " + "; ".join(problems) + ". "
                "Only the portal, with the audit key, writes them."
            )
        checked, chain_break = audit_chain_verify(checkpoints=checkpoints)
        if chain_break is not None:
            where = f"event {chain_break.event_id}" if chain_break.event_id else "the end"
            raise CommandError(
                f"Audit trail broken at {where}: {chain_break.reason}. "
                f"{checked} events before it verified."
            )
        self.stdout.write(self.style.SUCCESS(f"Audit trail intact: {checked} events verified."))
        # Pending events are committed but not chained yet: the checks above do not cover them.
        backlog = audit_backlog()
        if backlog["events"]:
            self.stdout.write(
                f"{backlog['events']} events are waiting to be chained (the oldest for "
                f"{backlog['oldest_seconds']:.1f} s): the sequencer chains them."
            )
        else:
            self.stdout.write("No events are waiting to be chained.")
        path = checkpoint_path(folder=folder)
        if checkpoints:
            self.stdout.write(f"It agrees with the {len(checkpoints)} checkpoints in {path}.")
        else:
            self.stdout.write(
                self.style.WARNING(f"No checkpoints in {path} yet: beat writes them.")
            )
