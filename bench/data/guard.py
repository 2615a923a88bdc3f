"""Which databases the loader may write to.

`--reset` empties the portal's tables, the audit trail among them, so the loader writes
only to a database that is plainly the benchmark's: one named like `make bench`'s
(`sns_bench`, or `sns_bench_` and a suffix), a Django test database (`test_` and the
name, as pytest-django creates), or one its operator vouches for with
`--this-is-a-benchmark-database`.
"""

from django.db import connection

BENCH_DATABASE = "sns_bench"
TEST_DATABASE_PREFIX = "test_"
VOUCH_FLAG = "--this-is-a-benchmark-database"


def database_is_the_benchmarks(name: str) -> bool:
    return (
        name == BENCH_DATABASE
        or name.startswith(f"{BENCH_DATABASE}_")
        or name.startswith(TEST_DATABASE_PREFIX)
    )


def database_name() -> str:
    return str(connection.settings_dict["NAME"])
