import io
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from audit.services import SystemActor
from people.staff_csv import StaffImportError, staff_rows_read
from staffing.plan_text import plan_lines
from staffing.services import LeaverLimitExceeded, SyncRefused, staff_directory_sync

# Who the audit trail says made the import's changes.
IMPORT_ACTOR = SystemActor("import_staff")


class Command(BaseCommand):
    help = (
        "Imports or updates the staff directory from a CSV with the columns "
        "email,name,job_title,organisation,directorate,business_unit,cost_centre,role. "
        "With --full the file is the whole directory: people missing from it are switched "
        "off and their access ends. All or nothing: a bad row stops the import and changes "
        "nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("csv_file", type=Path)
        parser.add_argument(
            "--full",
            action="store_true",
            help="The file is the whole staff directory: people missing from it have left.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print what would change (joiners, updates, movers, role and director "
            "changes, leavers with their access) and change nothing.",
        )
        parser.add_argument(
            "--max-leavers",
            type=int,
            default=None,
            help="Refuse a full import that would switch off more people than this "
            "(default: 5%% of the active people, at least 10).",
        )

    def handle(self, *args, csv_file: Path, full: bool, dry_run: bool, max_leavers, **options):
        if not csv_file.is_file():
            raise CommandError(f"{csv_file} does not exist")
        if max_leavers is not None and max_leavers < 0:
            raise CommandError("--max-leavers must be 0 or more")
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
                result = staff_directory_sync(
                    rows=staff_rows_read(handle),
                    actor=IMPORT_ACTOR,
                    full=full,
                    dry_run=dry_run,
                    max_leavers=max_leavers,
                    progress=progress,
                )
            except StaffImportError as error:
                raise CommandError(
                    f"{csv_file}, line {error.line}: {error.reason}. Nothing was changed."
                ) from None
            except LeaverLimitExceeded as error:
                raise CommandError(
                    f"{csv_file}: this full import would switch off {error.count} people, more "
                    f"than the safety limit of {error.limit}. Nothing was changed. Check the "
                    "file is the whole directory (see the list with --dry-run), then run it "
                    f"again with --max-leavers {error.count} if it is right."
                ) from None
            except SyncRefused as error:
                raise CommandError(f"{csv_file}: {error}. Nothing was changed.") from None
        plan = result.plan
        if dry_run:
            kind = "full import" if full else "import"
            self.stdout.write(f"Dry run of the {kind} of {csv_file.name}: nothing was changed.")
            for line in plan_lines(plan):
                self.stdout.write(line)
            return
        applied = result.applied
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {csv_file.name}: {applied.created} created, {applied.updated} "
                f"updated, {applied.unchanged} unchanged; {len(plan.movers)} moved, "
                f"{len(plan.director_changes)} director changes, {applied.switched_off} "
                "switched off."
            )
        )
