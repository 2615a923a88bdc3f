"""The replica step's report (bench/replica_report.py) says the register and its CSV were
read from the replica only when the page said so and the replica's own counters read the
rows; the step's web reaches the replica at its port (bench/replica_step.py). The step
itself needs a base backup of the whole cluster: `make bench` runs it, the suite does not
(tests/test_read_replica.py tests reads through a real replica)."""

import pytest

from bench.replica_report import replica_lines, replica_verdicts
from bench.replica_step import replica_url, run_order, served_from


def run_from(source: str, *, page_says: str, register_rows: int, csv_rows: int) -> dict:
    return {
        "source": source,
        "page_says": page_says,
        "register": {"rps": 40.0, "p50_us": 300_000, "p99_us": 900_000},
        "web_cpu_ms_per_page": 21.4,
        "csv": {"rows": 200_000, "rows_per_second": 48_000.0},
        "writes": {"writes": 120, "writes_per_second": 8.0, "p99_ms": 700.0, "failures": 0},
        "lag": {"lag_max_seconds": 0.4, "replay_lag_max_seconds": 0.2, "bytes_behind_max": 8192},
        "replica_during_register": {"transactions": 900, "rows": register_rows},
        "replica_during_csv": {"transactions": 10, "rows": csv_rows},
    }


def step_with(replica_run: dict) -> dict:
    primary_run = run_from("primary", page_says="primary", register_rows=0, csv_rows=0)
    return {
        "state": "measured",
        "write_clients": 4,
        "connections": 16,
        "cluster_bytes": 5 * 2**30,
        "replica_started_seconds": 41.0,
        "runs": [replica_run, primary_run],
    }


def test_reads_the_replica_served_are_shown_beside_the_primary_s_with_the_lag_and_writes():
    step = step_with(
        run_from("replica", page_says="replica", register_rows=90_000, csv_rows=400_000)
    )

    text = "\n".join(replica_lines(step))

    assert (
        "| the replica | 40.0 | 300.0 | 900.0 | 21 | 200,000 | 48,000 | 8.0 (700) | 0.40 " in text
    )
    assert "| the primary | 40.0 |" in text
    assert "(5.0 GB) and streaming after 41.0 s" in text
    assert "NOT SHOWN" not in text
    assert all(shown for _figure, shown in replica_verdicts(step).values())


@pytest.mark.parametrize(
    ("page_says", "register_rows", "csv_rows", "not_shown"),
    [
        ("primary", 90_000, 400_000, "the register is read from the replica"),
        ("replica", 0, 400_000, "the register is read from the replica"),
        ("replica", 90_000, 1_000, "its CSV export is read from the replica"),
    ],
)
def test_reads_the_replica_did_not_serve_are_not_shown_as_its(
    page_says, register_rows, csv_rows, not_shown
):
    step = step_with(
        run_from("replica", page_says=page_says, register_rows=register_rows, csv_rows=csv_rows)
    )

    verdicts = replica_verdicts(step)

    assert [name for name, (_f, shown) in verdicts.items() if not shown] == [not_shown]
    assert f"| {not_shown} |" in "\n".join(replica_lines(step))


def test_a_write_that_failed_meanwhile_is_not_shown_as_done():
    replica_run = run_from("replica", page_says="replica", register_rows=1, csv_rows=200_000)
    replica_run["writes"]["failures"] = 2

    figure, shown = replica_verdicts(step_with(replica_run))[
        "the writes ran meanwhile, every POST did its write"
    ]

    assert (figure, shown) == ("240 writes, 2 failed", False)


def test_the_register_page_tells_which_database_it_was_read_from():
    assert served_from(b"<p>Read from the database replica, 0 seconds behind</p>") == "replica"
    assert served_from(b"<p>The register</p>") == "primary"


def test_the_reading_web_reaches_the_copy_on_the_replica_s_port(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://bench:secret@db.internal:5432/sns_bench")

    assert (
        replica_url("sns_bench_replica", 5440)
        == "postgres://bench:secret@127.0.0.1:5440/sns_bench_replica"
    )


def test_over_several_rounds_neither_source_is_always_measured_first():
    assert run_order(1) == ["replica", "primary"]
    assert run_order(2) == ["replica", "primary", "primary", "replica"]
