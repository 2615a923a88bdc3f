"""The report of a benchmark run: the table of pages, exports and sweeps against their
targets, printed and saved under bench/results/ (`python -m bench.run report`)."""

import datetime
import json
import os
import platform
import subprocess
from pathlib import Path

import django
from django.db import connection

from bench.console import say
from bench.pages import FLOOR
from bench.replica_report import replica_lines
from bench.scale_report import baseline_find, scale_comparison, scale_lines
from bench.writes_report import writes_lines

ROOT = Path(__file__).resolve().parent.parent
# Every page against the floor measured just before it, at BENCH_CONNECTIONS (16) connections
# (issue 22, "half the floor").
PAGE_P99_TO_FLOOR = 2
PAGE_RPS_TO_FLOOR = 0.5


def machine() -> dict:
    cpu = ""
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    memory_gb = status = 0
    try:
        memory_gb = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    except (OSError, ValueError, IndexError):
        pass
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        status = cursor.fetchone()[0]
    commit = subprocess.run(  # noqa: S603
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(memory_gb, 1),
        "load_average": os.getloadavg(),
        "postgresql": status,
        "python": platform.python_version(),
        "django": django.get_version(),
        "commit": commit,
    }


def ms(us: float) -> str:
    return f"{us / 1000:.1f}"


def ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def page_rows(pages: list[dict], floor_runs: list[dict]) -> list[dict]:
    by_key = {p["key"]: p for p in pages if p.get("key") and p.get("state") == "measured"}
    table = []
    for p in pages:
        run = p.get("floor_run")
        floor = floor_runs[run] if run is not None and floor_runs else by_key.get(FLOOR)
        row = {"label": p["label"], "path": p.get("path", p["url_name"]), "state": p["state"]}
        table.append(row)
        if p["state"] != "measured":
            row["verdict"] = p["state"]
            continue
        row.update(rps=p["rps"], p50_ms=p["p50_us"] / 1000, p99_ms=p["p99_us"] / 1000)
        row.update(not_200=p["not_200"], deep=p.get("deep", ""))
        if floor:
            row["p99_to_floor"] = p["p99_us"] / floor["p99_us"] if floor["p99_us"] else None
            row["rps_to_floor"] = p["rps"] / floor["rps"] if floor["rps"] else None
        peer = by_key.get(p["peer"]) if p.get("peer") else None
        if peer:
            row["rps_to_peer"] = p["rps"] / peer["rps"] if peer["rps"] else None
        if p["role"] == "floor" and floor_runs:
            # The floor's own row: the median of its runs, and their spread.
            rps = sorted(r["rps"] for r in floor_runs)
            p99 = sorted(r["p99_us"] for r in floor_runs)
            median = len(rps) // 2
            row.update(rps=rps[median], p99_ms=p99[median] / 1000, p99_to_floor=None)
            row.update(rps_to_floor=None, floor_runs=len(floor_runs))
            row["verdict"] = (
                f"reference: median of {len(rps)} runs, {rps[0]:.0f}–{rps[-1]:.0f} req/s, "
                f"p99 {p99[0] / 1000:.0f}–{p99[-1] / 1000:.0f} ms"
            )
            continue
        if p["role"] != "page":
            row["verdict"] = "reference" if not p["not_200"] else f"{p['not_200']} not 200"
            continue
        misses = []
        if p["not_200"]:
            misses.append(f"{p['not_200']} answers not 200")
        if not floor:
            misses.append("no floor measured")
        else:
            if row["p99_to_floor"] is not None and row["p99_to_floor"] > PAGE_P99_TO_FLOOR:
                misses.append(f"p99 > {PAGE_P99_TO_FLOOR:g}× floor")
            if row["rps_to_floor"] is not None and row["rps_to_floor"] < PAGE_RPS_TO_FLOOR:
                misses.append("req/s < ½ floor")
        if p.get("peer"):
            if not peer:
                misses.append("peer not measured")
            elif row.get("rps_to_peer") is not None and row["rps_to_peer"] < p["peer_target"]:
                misses.append(f"< {p['peer_target']:g}× peer")
        row["target"] = f"p99 ≤ {PAGE_P99_TO_FLOOR:g}× floor, req/s ≥ ½ floor" + (
            f", ≥ {p['peer_target']:g}× peer" if p.get("peer") else ""
        )
        row["verdict"] = "met" if not misses else "MISSED: " + "; ".join(misses)
    return table


def export_row(e: dict) -> dict:
    row = {"label": e["label"], "path": e.get("path", ""), "state": e["state"]}
    if e["state"] != "measured":
        row["verdict"] = e["state"]
        return row
    misses = []
    if e["rows_per_second"] < e["target_rows_per_second"]:
        misses.append(f"< {e['target_rows_per_second']:,} rows/s")
    # The larger of the two runs: a worker that grew in the first run starts the second
    # at its grown size.
    runs = (e, e.get("first_run") or {}, e.get("second_run") or {})
    sampled = [r.get("above_idle_mb") for r in runs]
    sampled = [a for a in sampled if a is not None]
    above = max(sampled) if sampled else None
    if above is None:
        misses.append("memory not sampled")
    elif above >= e["target_memory_mb"]:
        misses.append(f"≥ {e['target_memory_mb']:g} MB above idle")
    if e["rows"] < e.get("grants", 0):
        misses.append(f"exported {e['rows']:,} of {e['grants']:,} grants")
    row.update(
        rows=e["rows"],
        seconds=e["seconds"],
        rows_per_second=e["rows_per_second"],
        above_idle_mb=above,
        verdict="met" if not misses else "MISSED: " + "; ".join(misses),
    )
    return row


def phase_report(args) -> dict:
    data: dict = {}
    for name in args.inputs:
        path = Path(name)
        if path.exists():
            data.update(json.loads(path.read_text()))
    now = datetime.datetime.now().astimezone()
    result = {
        "date": now.isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": data.get("settings", {}),
        "pages": page_rows(data.get("pages", []), data.get("floor_runs", [])),
        "exports": [export_row(e) for e in data.get("exports", [])],
        "sweeps": data.get("sweeps", []),
        "directory_import": data.get("directory_import"),
        "writes": data.get("writes"),
        "replica": data.get("replica"),
        "raw": data,
    }
    out = Path(args.results_dir)
    # Above scale 1, the pages beside the latest scale-1 run's (found before this run is saved).
    result["scale_comparison"] = scale_comparison(
        result, baseline_find(out, os.environ.get("BENCH_BASELINE", ""))
    )
    markdown = report_markdown(result)
    print(markdown)
    out.mkdir(parents=True, exist_ok=True)
    stamp = now.strftime("%Y-%m-%d-%H%M")
    (out / f"{stamp}.md").write_text(markdown)
    (out / f"{stamp}.json").write_text(json.dumps(result, indent=2, default=str))
    (out / "latest.md").write_text(markdown)
    say(f"saved {out / (stamp + '.md')}, {out / (stamp + '.json')} and {out / 'latest.md'}")
    return result


def report_markdown(result: dict) -> str:
    m, s = result["machine"], result["settings"]
    counts = s.get("counts") or {}
    lines = [
        f"# Benchmark {result['date']}",
        "",
        f"Machine: {m['cpu']} × {m['cores']} cores, {m['memory_gb']} GB; PostgreSQL "
        f"{m['postgresql']}, Python {m['python']}, Django {m['django']}, commit {m['commit']}. "
        f"Load average at the start: "
        f"{', '.join(f'{x:.1f}' for x in s.get('load_average_start') or [])}; at the end: "
        f"{', '.join(f'{x:.1f}' for x in m['load_average'])} "
        "(a shared machine: expect noise).",
        f"Data: scale {s.get('scale')}: "
        + ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in counts.items())
        + ".",
        f"Load: wrk, 1 thread, {s.get('connections')} connections, {s.get('warmup_s')} s "
        f"warm-up then {s.get('duration_s')} s per page, on loopback; gunicorn, 2 sync workers, "
        "DEBUG off, CONN_MAX_AGE 600.",
        "",
        "| page | req/s | p50 ms | p99 ms | p99 ÷ floor | req/s ÷ floor | req/s ÷ admin peer "
        "| target met? |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in result["pages"]:
        if r["state"] != "measured":
            lines.append(f"| {r['label']} | | | | | | | {r['verdict']} |")
            continue
        lines.append(
            f"| {r['label']} | {r['rps']:.1f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
            f"{ratio(r.get('p99_to_floor'))} | {ratio(r.get('rps_to_floor'))} | "
            f"{ratio(r.get('rps_to_peer'))} | {r['verdict']} |"
        )
    lines += ["", "| export | rows | seconds | rows/s | MB above idle | target met? |"]
    lines.append("| --- | ---: | ---: | ---: | ---: | --- |")
    for e in result["exports"]:
        if e["state"] != "measured":
            lines.append(f"| {e['label']} | | | | | {e['verdict']} |")
            continue
        above = e["above_idle_mb"]
        lines.append(
            f"| {e['label']} | {e['rows']:,} | {e['seconds']:.1f} | {e['rows_per_second']:,.0f} "
            f"| {'—' if above is None else f'{above:.1f}'} | {e['verdict']} |"
        )
    lines += [
        "",
        "| sweep | due items | handled by one worker | seconds | items/s "
        "| two workers: due, left, duplicates | target met? |",
        "| --- | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for w in result["sweeps"]:
        if w.get("state") != "measured":
            lines.append(f"| {w['label']} | | | | | | {w.get('state')} |")
            continue
        lines.append(
            f"| {w['label']} (`{w['service']}`) | {w['due']:,} | {w['handled']:,} | "
            f"{w['seconds']:.1f} | {w['per_second']:,.0f} | {w['two_workers_due']:,}, "
            f"{w['two_workers_still_due']:,}, {w['duplicates']} | {w['verdict']} |"
        )
    measured = [w for w in result["sweeps"] if w.get("state") == "measured"]
    if measured and measured[0].get("sweep_connections"):
        lines += [
            "",
            "One worker is one process calling the sweep until it finds nothing due; it works "
            f"on {measured[0]['sweep_connections']} batch(es) at once, each on its own "
            "database connection (`SNS_SWEEP_CONNECTIONS`), at nice "
            f"{measured[0].get('worker', {}).get('nice', 0)} as the Celery worker "
            "(`SNS_WORKER_NICE`), resting for "
            f"{1 - measured[0].get('worker', {}).get('duty_cycle', 1):.0%} of its time "
            "(`SNS_SWEEP_DUTY_CYCLE`).",
        ]
    lines += scale_lines(result.get("scale_comparison"))
    lines += import_lines(result.get("directory_import"))
    lines += writes_lines(result.get("writes"))
    lines += replica_lines(result.get("replica"))
    lines += ["", "Measured URLs:", ""]
    for r in result["pages"] + result["exports"]:
        if r.get("path") and r["state"] == "measured":
            note = f" ({r['deep']})" if r.get("deep") else ""
            lines.append(f"- {r['label']}: `{r['path']}`{note}")
    return "\n".join(lines) + "\n"


def import_lines(run: dict | None) -> list[str]:
    """The staff directory import's two runs (bench/directory_import.py)."""
    if not run:
        return []
    lines = [
        "",
        "| staff directory import | people | seconds | target | CPU s: Python + PostgreSQL "
        "| load average before | target met? |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    if run.get("state") != "measured":
        return [*lines, f"| {run['label']} | {run['people']:,} | | | | | {run.get('state')} |"]
    for key, label in [("create", "from empty"), ("reimport", "unchanged `--full` re-import")]:
        target = run[f"{key}_target_seconds"]
        lines.append(
            f"| {label} | {run['people']:,} | {run[f'{key}_seconds']:.1f} | "
            f"{'—' if target is None else f'≤ {target:g} s'} | {cpu_text(run, key)} | "
            f"{run[f'{key}_load_average_before']:.1f} | {run[f'{key}_verdict']} |"
        )
    lines += [
        "",
        "Each run is `import_staff` in a process of its own (start-up included) on a scratch "
        f"database; after the first: {run['people']:,} people, "
        f"{run['audit_staff_created']:,} with their creation event, "
        f"{run['search_texts']:,} with their search text. The CPU time is the import's own "
        "(its process and its PostgreSQL backend): on a shared machine the seconds also "
        "count the waits for a core, the CPU time does not.",
    ]
    return lines


def cpu_text(run: dict, key: str) -> str:
    python, postgresql = (
        run.get(f"{key}_python_cpu_seconds"),
        run.get(f"{key}_postgresql_cpu_seconds"),
    )
    if python is None:
        return "—"
    return f"{python:.1f} + {'?' if postgresql is None else f'{postgresql:.1f}'}"
