"""A run at scale 10 is reported beside the latest run at scale 1 (issue 22)."""

import json

from bench.scale_report import baseline_find, scale_comparison, scale_lines


def run(scale: float, p50s: dict[str, int], floor_p50: int, export_mb: float) -> dict:
    floor = {"rps": 100.0, "p50_us": floor_p50, "p99_us": 2 * floor_p50, "not_200": 0}
    pages = [
        {"label": label, "state": "measured", "role": "page", "p50_us": p50, "floor_run": 0}
        for label, p50 in p50s.items()
    ]
    export = {
        "label": "CSV export of all grants",
        "state": "measured",
        "rows": int(200_000 * scale),
        "rows_per_second": 50_000.0,
        "above_idle_mb": export_mb,
    }
    return {
        "date": f"scale {scale}",
        "machine": {"commit": "abc1234", "load_average": [1.0, 1.0, 1.0]},
        "settings": {"scale": scale},
        "exports": [export],
        "raw": {"pages": pages, "floor_runs": [floor]},
    }


def test_scale_ten_is_set_beside_the_newest_scale_one_run(tmp_path):
    older = run(1.0, {"Register": 100_000, "Register, searched": 100_000}, 100_000, 1.0)
    newer = run(1.0, {"Register": 120_000, "Register, searched": 110_000}, 100_000, 1.0)
    other_scale = run(10.0, {"Register": 1, "Register, searched": 1}, 1, 1.0)
    (tmp_path / "2026-12-01-1000.json").write_text(json.dumps(older))
    (tmp_path / "2026-12-02-1000.json").write_text(json.dumps(newer))
    (tmp_path / "2026-12-03-1000.json").write_text(json.dumps(other_scale))
    assert baseline_find(tmp_path) == tmp_path / "2026-12-02-1000.json"

    # The machine slowed by half between the runs (the floor 100 → 150 ms): the register
    # kept pace with the floor, the searched register grew on its own.
    ten = run(10.0, {"Register": 180_000, "Register, searched": 330_000}, 150_000, 1.2)
    comparison = scale_comparison(ten, baseline_find(tmp_path))
    rows = {row["label"]: row for row in comparison["pages"]}
    assert rows["Register"]["ratio"] == 1.5
    assert rows["Register"]["floor_relative_ratio"] == 1.0
    assert rows["Register"]["verdict"] == "met against the floor only"
    assert rows["Register, searched"]["verdict"] == "MISSED"
    # Had the machine sped up instead, a page that grew would still be caught by its floor.
    faster = run(10.0, {"Register": 100_000, "Register, searched": 100_000}, 50_000, 1.2)
    rows = {r["label"]: r for r in scale_comparison(faster, baseline_find(tmp_path))["pages"]}
    assert rows["Register"]["verdict"] == "met raw only"

    text = "\n".join(scale_lines(comparison))
    assert "Scale 10 beside scale 1 (`2026-12-02-1000.json`" in text
    assert "| Register, searched | 330.0 | 110.0 | 3.00 | 2.00 | MISSED |" in text
    assert (
        "| CSV export of all grants | 2,000,000 | 50,000 | 1.2 | 200,000 | 50,000 | 1.0 |" in text
    )


def test_a_scale_one_run_has_nothing_beside_it_and_scale_ten_says_what_is_missing(tmp_path):
    assert scale_comparison(run(1.0, {"Register": 1}, 1, 1.0), None) is None
    alone = scale_comparison(run(10.0, {"Register": 1}, 1, 1.0), baseline_find(tmp_path))
    assert "No run at scale 1" in "\n".join(scale_lines(alone))
