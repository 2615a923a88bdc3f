"""manage.py run by hand: production settings that refuse to start say what to set."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_command_under_production_settings_without_a_secret_key_says_what_to_set():
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DEBUG", "SECRET_KEY", "EMAIL_HOST", "PYTEST_CURRENT_TEST"}
    }
    result = subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "import_staff", "demo/staff.csv"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "set SECRET_KEY" in result.stderr
    assert "DEBUG=1" in result.stderr
