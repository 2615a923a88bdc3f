import io
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from audit.services import SystemActor
from people.services import StaffImportError, staff_import, staff_rows_read


class Command(BaseCommand):
    help = (
        "Imports or updates the staff directory from a CSV with the columns "
        "email,name,job_title,organisation,directorate,business_unit,cost_centre,role. "
        "All or nothing: a bad row stops the import and changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("csv_file", type=Path)

    def handle(self, *args, csv_file: Path, **options):
        if not csv_file.is_file():
            raise CommandError(f"{csv_file} does not exist")
        data = csv_file.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            # Latin-1, UTF-16 or a binary file: say where, as for any other bad row.
            line = data.count(b"\n", 0, error.start) + 1
            raise CommandError(
                f"{csv_file}, line {line}: the file is not UTF-8 text (save it from the "
                'spreadsheet as "CSV UTF-8"). Nothing was changed.'
            ) from None
        total = max(len(text.splitlines()) - 1, 0)
        show_progress = total >= 500 and options["verbosity"] > 0
        with (
            io.StringIO(text, newline="") as handle,
            tqdm(total=total, unit="row", disable=not show_progress, file=self.stderr) as progress,
        ):
            try:
                summary = staff_import(
                    rows=staff_rows_read(handle),
                    actor=SystemActor("import_staff"),
                    progress=progress,
                )
            except StaffImportError as error:
                raise CommandError(
                    f"{csv_file}, line {error.line}: {error.reason}. Nothing was changed."
                ) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {csv_file.name}: {summary.created} created, "
                f"{summary.updated} updated, {summary.unchanged} unchanged."
            )
        )
