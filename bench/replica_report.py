"""The replica step's lines of the benchmark's report (bench/replica_step.py): the register
and its CSV export read from the replica and from the primary while the writes run."""

# The rows the replica read for the copy's connections in a window (`pg_stat_database`:
# rows scanned and fetched) below which it served nothing: its counts include only the
# webs' reads, so any row read is the webs'.
SERVED_ROWS = 1


def replica_verdicts(step: dict) -> dict:
    """Each thing the step must show, over every run of the step: (figure, shown?)."""
    runs = step.get("runs", [])
    on_replica = [run for run in runs if run["source"] == "replica"]
    on_primary = [run for run in runs if run["source"] == "primary"]
    verdicts = {}
    if on_replica:
        says = sorted({run["page_says"] for run in on_replica})
        page = [run["replica_during_register"]["rows"] for run in on_replica]
        csv = [run["replica_during_csv"]["rows"] for run in on_replica]
        exported = [run["csv"]["rows"] for run in on_replica]
        verdicts["the register is read from the replica"] = (
            f"the page says {' and '.join(says)}; the replica read {_counts(page)} rows",
            says == ["replica"] and min(page) >= SERVED_ROWS,
        )
        verdicts["its CSV export is read from the replica"] = (
            f"{_counts(exported)} rows exported; the replica read {_counts(csv)} rows",
            all(read >= rows for read, rows in zip(csv, exported, strict=True)),
        )
    if on_primary:
        says = sorted({run["page_says"] for run in on_primary})
        read = [
            run["replica_during_register"]["rows"] + run["replica_during_csv"]["rows"]
            for run in on_primary
        ]
        verdicts["without the replica, nothing is read from it"] = (
            f"the page says {' and '.join(says)}; the replica read {_counts(read)} rows",
            says == ["primary"] and max(read) < SERVED_ROWS,
        )
    failures = sum(run["writes"]["failures"] for run in runs)
    writes = sum(run["writes"]["writes"] for run in runs)
    verdicts["the writes ran meanwhile, every POST did its write"] = (
        f"{writes:,} writes, {failures} failed",
        writes > 0 and failures == 0,
    )
    return verdicts


def _counts(values: list[int]) -> str:
    return ", ".join(f"{value:,}" for value in values)


def replica_lines(step: dict | None) -> list[str]:
    if not step:
        return []
    lines = [
        "",
        "| register and CSV during the writes, read from | register req/s | p50 ms | p99 ms "
        "| web CPU ms a page "
        "| CSV rows | CSV rows/s | writes/s meanwhile (POST p99 ms) | replica lag max s "
        "(replay lag, bytes behind) | load average |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in step.get("runs", []):
        register, csv, writes, lag = run["register"], run["csv"], run["writes"], run["lag"]
        note = ", ran out of prepared writes" if writes.get("ran_out") else ""
        lines.append(
            f"| the {run['source']} | {register['rps']:.1f} | {register['p50_us'] / 1000:.1f} | "
            f"{register['p99_us'] / 1000:.1f} | {run.get('web_cpu_ms_per_page', 0):.0f} | "
            f"{csv['rows']:,} | {csv['rows_per_second']:,.0f} | "
            f"{writes['writes_per_second']:.1f} ({writes['p99_ms']:.0f}{note}) | "
            f"{lag['lag_max_seconds']:.2f} ({lag['replay_lag_max_seconds']:.2f} s, "
            f"{lag['bytes_behind_max']:,}) | {run.get('load_average_before', 0):.1f}–"
            f"{run.get('load_average_after', 0):.1f} |"
        )
    if step.get("replica_started_seconds") is not None:
        lines.append(
            f"\nThe replica: `pg_basebackup` of the whole cluster "
            f"({step.get('cluster_bytes', 0) / 2**30:.1f} GB) and streaming after "
            f"{step['replica_started_seconds']:.1f} s. The writes: {step['write_clients']} "
            "clients (directors' decisions by the emailed link and ICT's provisioning) on a "
            f"web of their own; the register at {step['connections']} connections."
        )
    lines += ["", "| replica target | figure | shown? |", "| --- | --- | --- |"]
    for name, (figure, shown) in replica_verdicts(step).items():
        lines.append(f"| {name} | {figure} | {'shown' if shown else 'NOT SHOWN'} |")
    if step.get("state") != "measured":
        lines.append(f"\nReplica step: {step.get('state')}")
    return lines
