"""`.ci/run`'s last check (`scripts/ci_log_has_passed_tests.sh`): a green run's log must hold a
pytest summary with a passed test, however long the log is after it."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECK = ROOT / "scripts" / "ci_log_has_passed_tests.sh"


def check(log: Path) -> int:
    return subprocess.run(["bash", str(CHECK), str(log)], check=False).returncode  # noqa: S603, S607


def test_a_summary_with_passed_tests_is_found_before_a_long_report(tmp_path):
    log = tmp_path / "ci-test.log"
    before = "".join(f"tests/test_x.py::test_{n} PASSED\n" for n in range(20000))
    summary = "\x1b[32m=== \x1b[1m1607 passed\x1b[0m\x1b[32m in 894.39s (0:14:54) ===\x1b[0m\n"
    # What follows pytest's summary in `make test`: the security scan's report, long enough
    # that sed is still writing when the summary is found.
    after = "".join(f"[tester] WARNING nosec encountered (B608), line {n}\n" for n in range(20000))
    log.write_text(before + summary + after)
    assert check(log) == 0


def test_a_log_without_a_passed_test_fails(tmp_path):
    log = tmp_path / "ci-test.log"
    log.write_text("collected 0 items\n=== no tests ran in 0.12s ===\nAll checks passed!\n")
    assert check(log) != 0
    log.write_text("=== 3 failed in 2.00s ===\n")
    assert check(log) != 0
