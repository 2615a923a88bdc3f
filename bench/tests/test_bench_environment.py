"""`make bench` serves the portal with production settings on plain HTTP on loopback: the
environment scripts/bench.sh exports must give settings that answer pages there."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXPORT = re.compile(r"^export [A-Z_]+=.*$", re.MULTILINE)


def test_the_benchmarks_settings_serve_plain_http_without_a_redirect(tmp_path):
    exports = "\n".join(EXPORT.findall((ROOT / "scripts" / "bench.sh").read_text()))
    assert "export DEBUG=0" in exports  # production settings, as the bench measures them
    script = f"""
set -e
PY={sys.executable}; BENCH_PG=postgres://postgres@127.0.0.1:5432; BENCH_DB=sns_bench
BENCH_REDIS_URL=redis://127.0.0.1:6379/5; CLOSED_PORT=1; BENCH_PORT=8765; WORK={tmp_path}
unset AUDIT_CHAIN_KEY SNS_ICT_MAILBOX SECURE_SSL_REDIRECT
{exports}
export DJANGO_SETTINGS_MODULE=portal.settings
"$PY" -c 'import django; django.setup(); from django.conf import settings; print(settings.SECURE_SSL_REDIRECT, settings.DEBUG)'
"""
    result = subprocess.run(  # noqa: S603
        ["bash", "-c", script],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]
