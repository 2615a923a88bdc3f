"""The write journeys' lines of the benchmark's report (bench/writes.py), with the targets
of issue 22 judged."""

DECISION = "Decision by the emailed link"
SCALING_TARGET = 1.6  # decisions/s at 4 clients over 1 client (2 cores)
SWEEP_TARGET = 2.0  # a decision's p99 during the expiry sweep over its idle p99
VERIFY_TARGET_SECONDS = 60.0


def writes_verdicts(run: dict) -> dict:
    """Each target of the write journeys: (figure, met?)."""
    verdicts = {}
    by = {(j["label"], j["clients"]): j for j in run.get("journeys", [])}
    one, four = by.get((DECISION, 1)), by.get((DECISION, 4))
    if one and four and one["writes_per_second"]:
        scaling = four["writes_per_second"] / one["writes_per_second"]
        verdicts["decisions 4 clients ÷ 1 client ≥ 1.6"] = (f"{scaling:.2f}", scaling >= 1.6)
    sweep = run.get("sweep")
    if sweep and sweep.get("ratio"):
        verdicts["decision p99 during the sweep ÷ idle ≤ 2"] = (
            f"{sweep['ratio']:.2f} ({sweep['during']['p99_ms']:.0f} ms ÷ "
            f"{sweep['idle']['p99_ms']:.0f} ms)",
            sweep["ratio"] <= SWEEP_TARGET,
        )
    verify = run.get("verify")
    if verify:
        verdicts["verify_audit passes, in ≤ 60 s"] = (
            f"{verify['seconds']:.1f} s (CPU: {verify.get('python_cpu_seconds') or 0:.1f} s "
            f"Python + {verify.get('postgresql_cpu_seconds') or 0:.1f} s PostgreSQL; load "
            f"{verify.get('load', 0):.1f}), {'passes' if verify['ok'] else 'FAILS'}",
            verify["ok"] and verify["seconds"] <= VERIFY_TARGET_SECONDS,
        )
    failures = sum(j["failures"] for j in run.get("journeys", []))
    verdicts["every POST did its write"] = (f"{failures} failed", failures == 0)
    return verdicts


def writes_lines(run: dict | None) -> list[str]:
    if not run:
        return []
    lines = [
        "",
        "| write journey | clients | writes/s | POST p50 ms | POST p99 ms | failed "
        "| load average | server CPU s | machine idle s | waiting behind the chain head |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for j in run.get("journeys", []):
        note = " (ran out of prepared items)" if j.get("ran_out") else ""
        lines.append(
            f"| {j['label']}{note} | {j['clients']} | {j['writes_per_second']:.1f} | "
            f"{j['p50_ms']:.0f} | {j['p99_ms']:.0f} | {j['failures']} | {j['load']:.2f} | "
            f"{j.get('server_cpu_seconds', 0):.1f} | {j.get('machine_idle_seconds', 0):.1f} | "
            f"{j.get('locks', {}).get('mean_waiting_behind_the_head', 0):.2f} |"
        )
    sweep = run.get("sweep")
    if sweep:
        idle, during = sweep["idle"], sweep["during"]
        lines += [
            "",
            "| director's decision, 1 client | decisions | p50 ms | p99 ms | backends waiting "
            "on a lock (mean) | of them behind the chain head | load average |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for label, r in (("nothing else running", idle), ("during the expiry sweep", during)):
            lines.append(
                f"| {label} | {r['writes']} | {r['p50_ms']:.0f} | {r['p99_ms']:.0f} | "
                f"{r['locks']['mean_waiting_on_a_lock']:.2f} | "
                f"{r['locks']['mean_waiting_behind_the_head']:.2f} | {r['load']:.2f} |"
            )
        locks = during["locks"]
        lines.append(
            f"\nThe sweep ran {sweep['sweep_seconds']:.1f} s ({sweep.get('sweep')}). Events "
            f"waiting to be chained during it: at most {locks.get('pending_events_max', 0)}, the "
            f"oldest {locks.get('merge_delay_max_seconds', 0):.2f} s old (the merge delay)."
        )
    if run.get("sequencer"):
        lines.append(f"\nSequencer: {run['sequencer']}.")
    lines += ["", "| write target | figure | met? |", "| --- | --- | --- |"]
    for name, (figure, met) in writes_verdicts(run).items():
        lines.append(f"| {name} | {figure} | {'met' if met else 'MISSED'} |")
    if run.get("state"):
        lines.append(f"\nWrite journeys: {run['state']}")
    return lines
