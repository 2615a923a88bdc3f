"""Timing the staff directory import on a scratch database (`python -m bench.run import`).

The `import_staff` command runs twice, each time in a process of its own (its start-up
included, as an operator's `manage.py import_staff FILE`): into an empty portal, then
again with `--full` and the same file (nothing changes). The process reports the CPU time
the import used in Python and in its PostgreSQL backend as well: on a shared machine the
wall-clock time also counts the waits for a core. The scratch database (`<bench
database>_import`) is created and migrated here and dropped afterwards: the loaded bench
data is left alone. The file is generated, shaped as the bench data set is (3
organisations, 40 directorates each with its director, 200 business units, a few admins,
auditors and ICT people, the rest staff).

`BENCH_IMPORT_PEOPLE` sets how many people (default 50,000): the targets are for 50,000,
so another size is timed and checked but not judged against them.
"""

import csv
import io
import json
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

import psycopg2

from audit.models import AuditEvent
from bench.config import DirectoryImport
from bench.console import say
from bench.data.vocabulary import FIRST_NAMES, JOB_TITLES, LAST_NAMES
from bench.sweeps import clone_drop, clone_url, db_params
from people.models import PersonSearchText, Role, User
from people.staff_csv import STAFF_CSV_COLUMNS

ROOT = Path(__file__).resolve().parent.parent
ORGANISATIONS = ["Import Headquarters", "Import Border Agency", "Import Advisory Body"]
EMAIL_DOMAIN = "import.example.gov.uk"


def staff_file_write(path: Path, people: int, seed: int = 17) -> None:
    """A directory file of `people` rows, the same for the same arguments."""
    rnd = random.Random(seed)
    directorates = min(40, max(3, people // 25))
    units = directorates * 5
    # Directorate d belongs to the first organisation for the first 70%, then the second,
    # then the third (as in the bench data); the first row of each directorate is its
    # director; a few admins, auditors and ICT people come at the end.
    special = {people - 1 - k: role for k, role in enumerate([Role.ADMIN] * 4)}
    special.update({people - 5 - k: Role.AUDITOR for k in range(4)})
    special.update({people - 9 - k: Role.ICT for k in range(10)})
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(STAFF_CSV_COLUMNS)
        for j in range(people):
            unit = j * 5 if j < directorates else j % units
            d = unit // 5
            organisation = 0 if d < directorates * 0.7 else (1 if d < directorates * 0.88 else 2)
            role = Role.DIRECTOR if j < directorates else special.get(j, Role.STAFF)
            first = FIRST_NAMES[rnd.randrange(len(FIRST_NAMES))]
            last = LAST_NAMES[rnd.randrange(len(LAST_NAMES))]
            values = {
                "email": f"{first.lower()}.{last.lower()}.{j}@{EMAIL_DOMAIN}",
                "name": f"{first} {last}",
                "job_title": JOB_TITLES[j % len(JOB_TITLES)],
                "organisation": ORGANISATIONS[organisation],
                "directorate": f"Directorate {d + 1:02d}",
                "business_unit": f"Unit {unit + 1:03d}",
                "cost_centre": f"IMP{unit + 1:05d}",
                "role": role.value,
            }
            writer.writerow([values[column] for column in STAFF_CSV_COLUMNS])


def import_measure(config: DirectoryImport, work: Path) -> dict:
    people = int(os.environ.get("BENCH_IMPORT_PEOPLE") or config.people)
    judged = people == config.people
    row = {
        "label": config.label,
        "people": people,
        "create_target_seconds": config.create_target_seconds if judged else None,
        "reimport_target_seconds": config.reimport_target_seconds if judged else None,
    }
    scratch = f"{db_params()['dbname']}_import"
    path = work / "staff-directory.csv"
    env = {**os.environ, "DATABASE_URL": clone_url(scratch)}
    try:
        say(f"{config.label}: writing a file of {people:,} people; an empty database {scratch}")
        staff_file_write(path, people)
        _database_create(scratch)
        _manage(["migrate", "--noinput", "-v0"], env)
        say("  from empty")
        row.update(_timed_import(path, [], env, prefix="create"))
        counts = _counts(scratch)
        row.update(counts)
        say(
            f"  {row['create_seconds']:.1f} s ({_cpu(row, 'create')}): "
            f"{row['create_created']:,} created; "
            f"{counts['audit_staff_created']:,} creation events, "
            f"{counts['search_texts']:,} search texts"
        )
        say("  the same file again, --full")
        row.update(_timed_import(path, ["--full"], env, prefix="reimport"))
        say(
            f"  {row['reimport_seconds']:.1f} s ({_cpu(row, 'reimport')}): "
            f"{row['reimport_unchanged']:,} unchanged"
        )
    except Exception as error:  # noqa: BLE001 - the import's failure must not stop the report
        say(f"  failed: {error!r}")
        return {**row, "state": f"failed: {error!r}"[:300]}
    finally:
        clone_drop(scratch)
        path.unlink(missing_ok=True)
    row["state"] = "measured"
    row.update(_verdicts(row))
    return row


def _cpu(row: dict, run: str) -> str:
    postgresql = row[f"{run}_postgresql_cpu_seconds"]
    return (
        f"CPU {row[f'{run}_python_cpu_seconds']:.1f} s Python, "
        f"{'?' if postgresql is None else f'{postgresql:.1f}'} s PostgreSQL"
    )


def _verdicts(row: dict) -> dict:
    """Each run's verdict: its time against its target, and what it left behind."""
    people = row["people"]
    verdicts = {}
    for run, expected in [
        (
            "create",
            {"create_created": people, "audit_staff_created": people, "search_texts": people},
        ),
        ("reimport", {"reimport_unchanged": people, "reimport_created": 0}),
    ]:
        misses = [
            f"{key.replace('_', ' ')}: {row.get(key)} (expected {wanted:,})"
            for key, wanted in expected.items()
            if row.get(key) != wanted
        ]
        target = row[f"{run}_target_seconds"]
        if target is not None and row[f"{run}_seconds"] > target:
            misses.insert(0, f"> {target:g} s")
        judged = "met" if target is not None else "not judged (the target is for 50,000)"
        verdicts[f"{run}_verdict"] = judged if not misses else "MISSED: " + "; ".join(misses)
    return verdicts


def _database_create(name: str) -> None:
    admin = psycopg2.connect(**db_params("postgres"))
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        admin.close()


def _manage(arguments: list[str], env: dict) -> subprocess.CompletedProcess:
    return _run([sys.executable, "manage.py", *arguments], env)


def _run(command: list[str], env: dict) -> subprocess.CompletedProcess:
    result = subprocess.run(  # noqa: S603 - our own manage.py and harness, fixed arguments
        command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[1:3])} failed: {result.stderr[-1000:]}")
    return result


# "Imported staff.csv: 50000 created, 0 updated, 0 unchanged; …"
IMPORTED = re.compile(r"(\d+) created, (\d+) updated, (\d+) unchanged")


def _timed_import(path: Path, arguments: list[str], env: dict, *, prefix: str) -> dict:
    """One import in a process of its own (`import-worker`), timed from outside (start-up
    included); the process reports the CPU time it and its PostgreSQL backend used, which a
    busy machine's other work does not inflate as it does the wall-clock time."""
    load = os.getloadavg()[0]
    started = time.perf_counter()
    result = _run([sys.executable, "-m", "bench.run", "import-worker", str(path), *arguments], env)
    seconds = time.perf_counter() - started
    line = next((x for x in result.stdout.splitlines() if x.startswith("IMPORT_JSON ")), None)
    if line is None:
        raise RuntimeError(f"the import worker said: {result.stdout[-500:]}")
    report = json.loads(line[len("IMPORT_JSON ") :])
    found = IMPORTED.search(report["output"])
    if found is None:
        raise RuntimeError(f"import_staff said: {report['output'][-500:]}")
    created, updated, unchanged = (int(n) for n in found.groups())
    return {
        f"{prefix}_seconds": seconds,
        f"{prefix}_python_cpu_seconds": report["python_cpu_seconds"],
        f"{prefix}_postgresql_cpu_seconds": report["postgresql_cpu_seconds"],
        f"{prefix}_load_average_before": load,
        f"{prefix}_created": created,
        f"{prefix}_updated": updated,
        f"{prefix}_unchanged": unchanged,
    }


def worker_main(args) -> None:
    """Run `import_staff` on this process's database connection and print, as one JSON
    line, what it said and the CPU time it used here and in its PostgreSQL backend."""
    from django.core.management import call_command
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    backend_before, python_before = _process_cpu_seconds(backend), time.process_time()
    output = io.StringIO()
    call_command("import_staff", args.file, *(["--full"] if args.full else []), stdout=output)
    backend_after = _process_cpu_seconds(backend)
    report = {
        "output": output.getvalue(),
        "python_cpu_seconds": time.process_time() - python_before,
        "postgresql_cpu_seconds": (
            backend_after - backend_before
            if backend_before is not None and backend_after is not None
            else None
        ),
    }
    print("IMPORT_JSON " + json.dumps(report))


def _process_cpu_seconds(pid: int) -> float | None:
    """User and system CPU time of a process on this machine (None when PostgreSQL runs
    elsewhere or /proc cannot be read)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # utime and stime, the 14th and 15th fields of proc(5), counted after the ")".
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _counts(database: str) -> dict:
    """What the import left behind: people, their creation events and search texts (with
    the name as well as the email)."""
    db = psycopg2.connect(**db_params(database))
    try:
        with db, db.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {User._meta.db_table}")  # noqa: S608 - table names from the models
            people = cursor.fetchone()[0]
            cursor.execute(
                f"SELECT count(DISTINCT object_id) FROM {AuditEvent._meta.db_table} "  # noqa: S608 - table names from the models
                "WHERE action = 'people.staff_created'"
            )
            events = cursor.fetchone()[0]
            # A text with both lines: the email and the name (the register searches both).
            cursor.execute(
                f"SELECT count(*) FROM {PersonSearchText._meta.db_table} "  # noqa: S608 - table names from the models
                "WHERE strpos(text, E'\\n') > 0"
            )
            texts = cursor.fetchone()[0]
    finally:
        db.close()
    return {"people": people, "audit_staff_created": events, "search_texts": texts}
