"""Settings come from the environment; production refuses the demo defaults."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def settings_in_subprocess(
    env_overrides: dict, expression: str, *, cores: set[int] | None = None, start: bool = False
) -> subprocess.CompletedProcess:
    """The settings' `expression` in a fresh process (on only `cores`, when given).

    The settings module is read (and refuses what it refuses) when the expression's first
    setting is; `start=True` also sets Django up (the apps loaded, logging configured) as a
    server starting does, which costs four times the CPU of reading the settings alone
    (0.93 s against 0.23 s), so only the tests that say the portal starts ask for it."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "DATABASE_URL",
            "DATABASE_REPLICA_URL",
            "CELERY_BROKER_URL",
            "EMAIL_HOST",
            "SECRET_KEY",
            "AUDIT_CHAIN_KEY",
            "DEBUG",
        }
    }
    env.update(env_overrides)
    env["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    # `s.DEBUG` first, so that the settings are read even when the expression reads none.
    setup = "import django; django.setup(); " if start else ""
    code = f"{setup}from django.conf import settings as s; s.DEBUG; print({expression})"
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=(lambda: os.sched_setaffinity(0, cores)) if cores else None,  # noqa: PLW1509
    )


def test_embedded_defaults_need_no_servers(tmp_path):
    result = settings_in_subprocess(
        {"DEBUG": "1", "PORTAL_VAR_DIR": str(tmp_path)},
        "s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.EMAIL_BACKEND",
        start=True,
    )
    assert result.returncode == 0, result.stderr
    assert "sqlite3" in result.stdout
    assert "filesystem://" in result.stdout
    assert "filebased.EmailBackend" in result.stdout
    assert (tmp_path / "celery" / "queue").is_dir()


def test_services_are_taken_from_the_environment(tmp_path):
    result = settings_in_subprocess(
        {
            "DEBUG": "1",
            "PORTAL_VAR_DIR": str(tmp_path),
            "DATABASE_URL": "postgres://portal:secret@db.internal:5433/portal",
            "CELERY_BROKER_URL": "redis://cache.internal:6380/2",
            "EMAIL_HOST": "smtp.internal",
            "EMAIL_PORT": "2525",
            "EMAIL_USE_TLS": "true",
            "DEFAULT_FROM_EMAIL": "sns@dept.gov.uk",
            "PORTAL_BASE_URL": "https://sns.dept.gov.uk/",
            "ALLOWED_HOSTS": "sns.dept.gov.uk,other",
        },
        "s.DATABASES['default']['HOST'], s.DATABASES['default']['PORT'], s.CELERY_BROKER_URL, "
        "s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS, s.DEFAULT_FROM_EMAIL, "
        "s.PORTAL_BASE_URL, s.ALLOWED_HOSTS",
    )
    assert result.returncode == 0, result.stderr
    for expected in [
        "db.internal",
        "5433",
        "redis://cache.internal:6380/2",
        "smtp.EmailBackend",
        "smtp.internal",
        "2525",
        "True",
        "sns@dept.gov.uk",
        "sns@dept.gov.uk https://sns.dept.gov.uk ",
        "['sns.dept.gov.uk', 'other']",
    ]:
        assert expected in result.stdout


def test_production_refuses_to_start_on_demo_defaults(tmp_path):
    result = settings_in_subprocess({"PORTAL_VAR_DIR": str(tmp_path)}, "s.DEBUG")
    assert result.returncode != 0
    assert "refuse the demo defaults" in result.stderr
    assert "SECRET_KEY" in result.stderr
    assert "EMAIL_HOST" in result.stderr
    assert "AUDIT_CHAIN_KEY" in result.stderr


def test_production_starts_with_real_settings(tmp_path):
    result = settings_in_subprocess(
        {
            "PORTAL_VAR_DIR": str(tmp_path),
            "SECRET_KEY": "x" * 50,
            "AUDIT_CHAIN_KEY": "k" * 50,
            "EMAIL_HOST": "smtp.internal",
        },
        "s.DEBUG, s.SESSION_COOKIE_SECURE",
        start=True,
    )
    assert result.returncode == 0, result.stderr
    assert "False True" in result.stdout


def test_smtp_over_tls_from_the_start_is_configurable(tmp_path):
    # Port 465 servers speak TLS from the first byte (Django's EMAIL_USE_SSL), not STARTTLS.
    result = settings_in_subprocess(
        {
            "DEBUG": "1",
            "PORTAL_VAR_DIR": str(tmp_path),
            "EMAIL_HOST": "smtp.internal",
            "EMAIL_PORT": "465",
            "EMAIL_USE_SSL": "1",
        },
        "s.EMAIL_PORT, s.EMAIL_USE_SSL, s.EMAIL_USE_TLS",
    )
    assert result.returncode == 0, result.stderr
    assert "465 True False" in result.stdout


def test_single_sign_on_needs_all_three_oidc_variables(tmp_path):
    base = {"DEBUG": "1", "PORTAL_VAR_DIR": str(tmp_path)}
    result = settings_in_subprocess(
        {**base, "OIDC_ISSUER": "https://sign-in.example.gov.uk", "OIDC_CLIENT_ID": "sns"},
        "s.SSO_ENABLED",
    )
    assert result.returncode != 0
    assert "Single sign-on needs OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET" in (
        result.stderr
    )
    assert "set OIDC_CLIENT_SECRET" in result.stderr

    result = settings_in_subprocess(
        {
            **base,
            "OIDC_ISSUER": "https://sign-in.example.gov.uk",
            "OIDC_CLIENT_ID": "sns",
            "OIDC_CLIENT_SECRET": "s3cret",
            "LOCAL_PASSWORDS": "off",
        },
        "s.SSO_ENABLED, s.LOCAL_PASSWORDS, s.OIDC_SIGN_IN_LABEL, s.OIDC_USE_PKCE",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == (
        "True False Sign in with your Home Office account True"
    )


def test_single_sign_on_refuses_a_plain_http_issuer_and_passwords_off_without_it(tmp_path):
    base = {"DEBUG": "1", "PORTAL_VAR_DIR": str(tmp_path)}
    result = settings_in_subprocess(
        {
            **base,
            "OIDC_ISSUER": "http://sign-in.example.gov.uk",
            "OIDC_CLIENT_ID": "sns",
            "OIDC_CLIENT_SECRET": "s3cret",
        },
        "s.SSO_ENABLED",
    )
    assert result.returncode != 0
    assert "OIDC_ISSUER must be an https:// address" in result.stderr

    result = settings_in_subprocess({**base, "LOCAL_PASSWORDS": "off"}, "s.LOCAL_PASSWORDS")
    assert result.returncode != 0
    assert "LOCAL_PASSWORDS=off leaves no way to sign in" in result.stderr


NOTIFY_KEY = "portal-1b2c3d4e-0000-4a5b-8c9d-0e1f2a3b4c5d-6f1d2c3b-0000-4a5b-8c9d-0e1f2a3b4c5d"


def test_production_may_send_through_notify_instead_of_smtp(tmp_path):
    result = settings_in_subprocess(
        {
            "PORTAL_VAR_DIR": str(tmp_path),
            "SECRET_KEY": "x" * 50,
            "AUDIT_CHAIN_KEY": "k" * 50,
            "NOTIFY_API_KEY": NOTIFY_KEY,
            "NOTIFY_EMAIL_TEMPLATE_ID": "2a3b4c5d-0000-4a5b-8c9d-0e1f2a3b4c5d",
        },
        "s.NOTIFY_BASE_URL, s.NOTIFY_MESSAGES_PER_MINUTE",
    )
    assert result.returncode == 0, result.stderr
    assert "https://api.notifications.service.gov.uk 3000" in result.stdout


def test_half_a_notify_configuration_is_refused_saying_what_is_missing(tmp_path):
    common = {"DEBUG": "1", "PORTAL_VAR_DIR": str(tmp_path)}
    no_template = settings_in_subprocess({**common, "NOTIFY_API_KEY": NOTIFY_KEY}, "s.DEBUG")
    assert no_template.returncode != 0
    assert "set NOTIFY_EMAIL_TEMPLATE_ID" in no_template.stderr
    no_key = settings_in_subprocess(
        {**common, "NOTIFY_EMAIL_TEMPLATE_ID": "2a3b4c5d-0000-4a5b-8c9d-0e1f2a3b4c5d"}, "s.DEBUG"
    )
    assert no_key.returncode != 0
    assert "NOTIFY_EMAIL_TEMPLATE_ID is set without NOTIFY_API_KEY" in no_key.stderr
    bad_key = settings_in_subprocess(
        {
            **common,
            "NOTIFY_API_KEY": "not-a-key",
            "NOTIFY_EMAIL_TEMPLATE_ID": "2a3b4c5d-0000-4a5b-8c9d-0e1f2a3b4c5d",
        },
        "s.DEBUG",
    )
    assert bad_key.returncode != 0
    assert "NOTIFY_API_KEY is not a Notify API key" in bad_key.stderr
    assert "not-a-key" not in bad_key.stderr  # a key is never repeated in a message


def test_a_replica_is_a_second_database_alias_read_through_the_router(tmp_path):
    result = settings_in_subprocess(
        {
            "DEBUG": "1",
            "PORTAL_VAR_DIR": str(tmp_path),
            "DATABASE_URL": "postgres://portal:secret@db.internal:5432/portal",
            "DATABASE_REPLICA_URL": "postgres://reader:secret@replica.internal:5432/portal",
            "SNS_REPLICA_MAX_LAG_SECONDS": "5",
        },
        "s.DATABASES['replica']['HOST'], s.DATABASES['replica']['TEST'], "
        "s.DATABASES['replica']['OPTIONS'], s.DATABASE_ROUTERS, s.SNS_REPLICA_MAX_LAG_SECONDS",
    )
    assert result.returncode == 0, result.stderr
    assert "replica.internal" in result.stdout
    assert "'MIRROR': 'default'" in result.stdout
    assert "'connect_timeout': 3" in result.stdout
    assert "core.replica.ReplicaRouter" in result.stdout
    assert result.stdout.split()[-1] == "5"


def test_without_a_replica_there_is_no_replica_alias(tmp_path):
    result = settings_in_subprocess(
        {"DEBUG": "1", "PORTAL_VAR_DIR": str(tmp_path)}, "sorted(s.DATABASES)"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['default']"


def test_a_replica_needs_a_postgresql_primary(tmp_path):
    result = settings_in_subprocess(
        {
            "DEBUG": "1",
            "PORTAL_VAR_DIR": str(tmp_path),
            "DATABASE_REPLICA_URL": "postgres://reader@replica.internal:5432/portal",
        },
        "1",
    )
    assert result.returncode != 0
    assert "DATABASE_REPLICA_URL is a PostgreSQL replica of DATABASE_URL" in result.stderr


def test_background_work_leaves_a_core_to_the_web_on_a_small_machine(tmp_path):
    """On one or two cores a sweep works on one connection (at most one core busy); the
    worker runs at nice 10 and sweeps do not rest unless told to; each can be set."""
    demo = {"DEBUG": "1", "PORTAL_VAR_DIR": str(tmp_path)}
    expression = "s.SNS_SWEEP_CONNECTIONS, s.SNS_SWEEP_DUTY_CYCLE, s.SNS_WORKER_NICE"
    result = settings_in_subprocess(demo, expression, cores={0})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1 1.0 10"

    told = {"SNS_SWEEP_CONNECTIONS": "2", "SNS_SWEEP_DUTY_CYCLE": "0.75", "SNS_WORKER_NICE": "0"}
    result = settings_in_subprocess({**demo, **told}, expression, cores={0})
    assert result.stdout.strip() == "2 0.75 0", result.stderr

    for name, value in (("SNS_SWEEP_DUTY_CYCLE", "0"), ("SNS_WORKER_NICE", "20")):
        result = settings_in_subprocess({**demo, name: value}, expression)
        assert result.returncode != 0
        assert f"{name} must be a number from" in result.stderr
