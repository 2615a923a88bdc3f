import time

from django.core.management.base import BaseCommand

from audit.sequencer import audit_backlog, audit_sequence


class Command(BaseCommand):
    help = (
        "Chains the audit events waiting to be chained (written while another transaction "
        "held the chain head). With --loop, keeps doing so every --interval seconds."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="run until stopped")
        parser.add_argument("--interval", type=float, default=0.2, help="seconds between runs")
        parser.add_argument("--batch", type=int, default=1000, help="events per transaction")

    def handle(self, *args, **options):
        while True:
            chained = audit_sequence(limit=options["batch"])
            if not options["loop"]:
                backlog = audit_backlog()
                self.stdout.write(f"Chained {chained} events; {backlog['events']} still waiting.")
                return
            if not chained:
                time.sleep(options["interval"])
