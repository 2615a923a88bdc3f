"""Loads the benchmark's data set (bench/data/load.py) into the benchmark's database.

A marker table records the scale, so a second run at the same scale does nothing;
`--reset` empties the portal's tables first. It refuses any database that is not plainly
the benchmark's (bench/data/guard.py) before it reads or writes anything.
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from bench.data.guard import (
    BENCH_DATABASE,
    TEST_DATABASE_PREFIX,
    VOUCH_FLAG,
    database_is_the_benchmarks,
    database_name,
)
from bench.data.load import bench_data_analyze, bench_data_load
from bench.data.marker import marker_read
from people.models import User


class Command(BaseCommand):
    help = (
        "Loads the benchmark's department-scale data set (scale 1.0: 50,000 staff, 224,000 "
        "cases, 200,000 grants, 2,000,000 audit events) with COPY. Does nothing when the "
        "same scale is already loaded; --reset empties the portal's tables first. Only into "
        f"a database named {BENCH_DATABASE} (or {BENCH_DATABASE}_…), a test database, or "
        f"with {VOUCH_FLAG}."
    )

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=float, default=1.0)
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument(
            "--keep-checks",
            action="store_true",
            help="Check foreign keys row by row while loading (slower; the tests use it)",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Empty the portal's people, cases, grants, approvals, audit and outbox tables "
            "first (TRUNCATE)",
        )
        parser.add_argument(
            VOUCH_FLAG,
            action="store_true",
            dest="vouched",
            help="Load into this database although its name is not the benchmark's: it holds "
            "nothing anyone needs (with --reset, its audit trail is emptied)",
        )

    def handle(
        self,
        *args,
        scale: float,
        seed: int,
        reset: bool,
        keep_checks: bool,
        vouched: bool,
        **options,
    ):
        if scale <= 0:
            raise CommandError("--scale must be above 0")
        if connection.vendor != "postgresql":
            raise CommandError("load_bench_data needs PostgreSQL (set DATABASE_URL)")
        database = database_name()
        if not vouched and not database_is_the_benchmarks(database):
            raise CommandError(
                f"load_bench_data refuses the database {database!r}: it is not the benchmark's, "
                f"and the load (with --reset, which empties the audit trail) would change it. "
                f"Point DATABASE_URL at the benchmark's database ({BENCH_DATABASE}, as "
                f"`make bench` does, or a name starting {BENCH_DATABASE}_ or "
                f"{TEST_DATABASE_PREFIX}), or, if this database holds nothing anyone needs, "
                f"run again with {VOUCH_FLAG}."
            )
        progress = options["verbosity"] > 0
        started = time.monotonic()
        loaded = marker_read()
        if not reset:
            if loaded and abs(loaded["scale"] - scale) < 1e-9:
                self.stdout.write(f"Bench data already loaded at scale {scale}: nothing to do.")
                return
            if loaded or User.objects.exists():
                raise CommandError(
                    "The database already holds data"
                    + (f" (bench data at scale {loaded['scale']})" if loaded else "")
                    + ": run with --reset to empty it first."
                )

        counts = bench_data_load(
            scale=scale, seed=seed, reset=reset, keep_checks=keep_checks, progress=progress
        )
        if progress:
            self.stderr.write("Analysing…")
        bench_data_analyze()
        took = time.monotonic() - started
        summary = ", ".join(f"{value:,} {name.replace('_', ' ')}" for name, value in counts.items())
        self.stdout.write(
            self.style.SUCCESS(f"Loaded bench data at scale {scale} in {took:.0f} s: {summary}.")
        )
