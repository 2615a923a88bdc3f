from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit.feed import audit_export_lines


class Command(BaseCommand):
    help = (
        "Writes the audit events after an id, in id order up to the chain head, one JSON "
        "object per line (the API's audit feed items), to a file or standard output, for "
        "syslog shippers and SIEMs. Run it again with the last id written to continue."
    )

    def add_arguments(self, parser):
        parser.add_argument("--after-id", type=int, default=0, help="the last id already read")
        parser.add_argument("--format", choices=["jsonl"], default="jsonl")
        parser.add_argument(
            "--output", type=Path, default=None, help="a file to append to (default: stdout)"
        )

    def handle(self, *args, **options):
        after_id = options["after_id"]
        if after_id < 0:
            raise CommandError("--after-id must be 0 or more")
        if options["output"] is None:
            written = self._write(lambda line: self.stdout.write(line, ending=""), after_id)
        else:
            with options["output"].open("a", encoding="utf-8") as file:
                written = self._write(file.write, after_id)
        self.stderr.write(f"export_audit: {written} events after id {after_id}")

    def _write(self, write, after_id: int) -> int:
        written = 0
        for line in audit_export_lines(after_id=after_id):
            write(line)
            written += 1
        return written
