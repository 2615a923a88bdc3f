"""The bench app is installed, and its floor page mounted, only when benchmarking."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH_INSTALLED = (
    "from django.apps import apps; from django.urls import reverse; "
    "print(apps.is_installed('bench')); print(reverse('bench:floor'))"
)


def settings_in_subprocess(env_overrides: dict) -> subprocess.CompletedProcess:
    """A process outside pytest (the settings install the app under pytest), as
    `make run` and `make bench` start."""
    env = {k: v for k, v in os.environ.items() if k not in {"SNS_BENCH", "DATABASE_URL"}}
    env.update(env_overrides, DJANGO_SETTINGS_MODULE="portal.settings", DEBUG="1")
    code = f"import django; django.setup(); {BENCH_INSTALLED}"
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_the_portal_runs_without_the_bench_app(tmp_path):
    result = settings_in_subprocess({"PORTAL_VAR_DIR": str(tmp_path)})
    assert result.stdout.splitlines() == ["False"]
    assert "NoReverseMatch" in result.stderr


@pytest.mark.parametrize("value", ["1", "true"])
def test_sns_bench_installs_the_app_and_mounts_the_floor_page(tmp_path, value):
    result = settings_in_subprocess({"PORTAL_VAR_DIR": str(tmp_path), "SNS_BENCH": value})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["True", "/bench/floor/"]
