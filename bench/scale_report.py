"""A run at more than scale 1 beside the latest run at scale 1 (issue 22: at ten times the
data, every page's p50 within 1.25× of its p50 at scale 1, both measured on the same machine
one after the other; the CSV export in flat memory).

The scale-1 run is the newest `bench/results/<date>.json` at scale 1, or the file that
`BENCH_BASELINE` names. Each page's p50 is set beside that run's, raw and as a multiple of
the floor's p50 measured just before the page in its own run: on a shared machine the raw
p50s move with the machine's load, and the floor moves with them.
"""

import json
from pathlib import Path

SCALE_P50_RATIO = 1.25


def baseline_find(results_dir: Path, named: str = "") -> Path | None:
    """The scale-1 run to compare with: the file named, else the newest at scale 1 with
    measured pages."""
    if named:
        return Path(named)
    for path in sorted(results_dir.glob("????-??-??-????.json"), reverse=True):
        try:
            run = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        scale = (run.get("settings") or {}).get("scale")
        pages = (run.get("raw") or {}).get("pages") or []
        if scale is not None and abs(float(scale) - 1.0) < 1e-9 and pages:
            return path
    return None


def _p50s(raw: dict) -> dict[str, tuple[float, float | None, str]]:
    """Each measured page's p50 (ms), its p50 over the floor run before it and its role
    (a page with targets, the floor, a reference), by label."""
    floors = raw.get("floor_runs") or []
    p50s = {}
    for page in raw.get("pages") or []:
        if page.get("state") != "measured" or not page.get("p50_us"):
            continue
        run = page.get("floor_run")
        floor = floors[run] if run is not None and run < len(floors) else None
        to_floor = page["p50_us"] / floor["p50_us"] if floor and floor.get("p50_us") else None
        p50s[page["label"]] = (page["p50_us"] / 1000, to_floor, page.get("role", "page"))
    return p50s


def scale_comparison(result: dict, baseline_path: Path | None) -> dict | None:
    """The pages and exports of `result` (a run above scale 1) beside the scale-1 run's."""
    scale = (result.get("settings") or {}).get("scale")
    if scale is None or float(scale) <= 1.0:
        return None
    if baseline_path is None or not baseline_path.exists():
        return {"scale": scale, "baseline": None}
    baseline = json.loads(baseline_path.read_text())
    now, then = _p50s(result.get("raw") or {}), _p50s(baseline.get("raw") or {})
    pages = []
    for label, (p50, to_floor, role) in now.items():
        if label not in then:
            continue
        p50_1, to_floor_1, _ = then[label]
        row = {"label": label, "p50_ms": p50, "p50_ms_scale_1": p50_1, "ratio": p50 / p50_1}
        relative = to_floor / to_floor_1 if to_floor is not None and to_floor_1 else None
        row["floor_relative_ratio"] = relative
        raw_met = row["ratio"] <= SCALE_P50_RATIO
        relative_met = relative is None or relative <= SCALE_P50_RATIO
        if role != "page":
            row["verdict"] = "reference"
        elif raw_met and relative_met:
            row["verdict"] = "met"
        elif not raw_met and not relative_met:
            row["verdict"] = "MISSED"
        else:
            # The machine's speed moved between the runs (the floor's p50 with it): the two
            # ratios disagree, and only a run on a quiet machine settles it.
            row["verdict"] = "met against the floor only" if relative_met else "met raw only"
        pages.append(row)
    exports = []
    before = {e["label"]: e for e in baseline.get("exports") or [] if e.get("state") == "measured"}
    for export in result.get("exports") or []:
        if export.get("state") == "measured" and export["label"] in before:
            exports.append({"now": export, "scale_1": before[export["label"]]})
    return {
        "scale": scale,
        "baseline": str(baseline_path),
        "baseline_date": baseline.get("date"),
        "baseline_commit": (baseline.get("machine") or {}).get("commit"),
        "baseline_load_average": (baseline.get("machine") or {}).get("load_average"),
        "pages": pages,
        "exports": exports,
    }


def scale_lines(comparison: dict | None) -> list[str]:
    """The comparison as Markdown, for the end of the report."""
    if not comparison:
        return []
    scale = comparison["scale"]
    if not comparison.get("baseline"):
        return [
            "",
            f"No run at scale 1 to set scale {scale:g} beside: run `make bench` (scale 1) "
            "first, or name one with BENCH_BASELINE=bench/results/<date>.json.",
        ]
    load = comparison.get("baseline_load_average") or []
    lines = [
        "",
        f"Scale {scale:g} beside scale 1 (`{Path(comparison['baseline']).name}`, "
        f"{comparison.get('baseline_date')}, commit {comparison.get('baseline_commit')}, "
        f"load average at its end {', '.join(f'{x:.1f}' for x in load)}): target, each "
        f"page's p50 within {SCALE_P50_RATIO:g}× of scale 1's. The last ratio divides each "
        "page's p50 by the floor's p50 just before it in its own run first, which takes out "
        "most of the machine's drift between the two runs.",
        "",
        f"| page | p50 ms, scale {scale:g} | p50 ms, scale 1 | ratio | ratio of p50 ÷ floor "
        f"| within {SCALE_P50_RATIO:g}×? |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in comparison["pages"]:
        relative = row.get("floor_relative_ratio")
        lines.append(
            f"| {row['label']} | {row['p50_ms']:.1f} | {row['p50_ms_scale_1']:.1f} | "
            f"{row['ratio']:.2f} | {'—' if relative is None else f'{relative:.2f}'} | "
            f"{row['verdict']} |"
        )
    if comparison["exports"]:
        lines += [
            "",
            f"| export | rows, scale {scale:g} | rows/s | MB above idle | rows, scale 1 | rows/s "
            "| MB above idle |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for pair in comparison["exports"]:
            now, then = pair["now"], pair["scale_1"]
            lines.append(
                f"| {now['label']} | {now['rows']:,} | {now['rows_per_second']:,.0f} | "
                f"{_mb(now.get('above_idle_mb'))} | {then['rows']:,} | "
                f"{then['rows_per_second']:,.0f} | {_mb(then.get('above_idle_mb'))} |"
            )
    return lines


def _mb(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"
