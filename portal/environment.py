"""Reading settings from the environment, and the checks that refuse a half-made
configuration with a message saying what to set."""

import os
import re
from datetime import date
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_iso_dates(name: str, default: str = "") -> list[str]:
    """A comma-separated list of ISO dates, kept as text; a value that is not a date stops
    the portal at start-up rather than being skipped."""
    days = env_list(name, default)
    try:
        [date.fromisoformat(day) for day in days]
    except ValueError as error:
        raise ImproperlyConfigured(f"{name} must be ISO dates (YYYY-MM-DD): {error}") from None
    return days


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_within(name: str, default: float, *, low: float, high: float) -> float:
    """A number from `low` to `high`; any other value stops the portal at start-up."""
    value = os.environ.get(name)
    try:
        number = float(value) if value else default
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        raise ImproperlyConfigured(f"{name} must be a number from {low:g} to {high:g}")
    return number


def cores_available() -> int:
    """The cores this process may run on (its CPU affinity where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def notify_settings_problems(*, api_key: str, template_id: str, reply_to_id: str) -> list[str]:
    """What is wrong with a Notify configuration: none of it, or enough of it to send."""
    if not api_key:
        return ["NOTIFY_EMAIL_TEMPLATE_ID is set without NOTIFY_API_KEY"] if template_id else []
    problems = []
    if not re.fullmatch(rf".+-{_UUID}-{_UUID}", api_key):
        problems.append(
            "NOTIFY_API_KEY is not a Notify API key (key name, service id and secret, "
            "joined by hyphens)"
        )
    if not template_id:
        problems.append("set NOTIFY_EMAIL_TEMPLATE_ID (the Notify template every email uses)")
    elif not re.fullmatch(_UUID, template_id):
        problems.append("NOTIFY_EMAIL_TEMPLATE_ID is not a template id (a UUID)")
    if reply_to_id and not re.fullmatch(_UUID, reply_to_id):
        problems.append("NOTIFY_REPLY_TO_ID is not a reply-to address id (a UUID)")
    return problems


def loopback_http(url: str) -> bool:
    """An http:// address on this machine (a test's provider), the one http allowed."""
    parts = urlsplit(url)
    return parts.scheme == "http" and parts.hostname in {"127.0.0.1", "localhost", "::1"}


def databases_from_urls(*, primary: str, replica: str, sqlite_path, conn_max_age: int) -> dict:
    """DATABASES from DATABASE_URL (SQLite in the var folder when empty, for `make run`) and
    DATABASE_REPLICA_URL (the `replica` alias, only beside a PostgreSQL primary)."""
    if primary:
        databases = {
            "default": dj_database_url.parse(
                primary, conn_max_age=conn_max_age, conn_health_checks=True
            )
        }
    else:
        databases = {
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": sqlite_path,
                "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
            }
        }
    if not replica:
        return databases
    if not primary.startswith(("postgres://", "postgresql://")):
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL is a PostgreSQL replica of DATABASE_URL: set DATABASE_URL to "
            "the primary (postgres://…)"
        )
    databases["replica"] = {
        **dj_database_url.parse(replica, conn_max_age=conn_max_age, conn_health_checks=True),
        "TEST": {"MIRROR": "default"},
    }
    # A replica that stops answering costs a page this long before it reads the primary.
    databases["replica"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)
    return databases


def refuse_demo_defaults(
    *, secret_key: str, audit_chain_key: str, demo_keys: tuple[str, str], demo_outbox: bool
) -> None:
    """Production must not run on anything that only exists for the demo."""
    demo_secret_key, demo_audit_chain_key = demo_keys
    problems = []
    if secret_key == demo_secret_key or len(secret_key) < 32:
        problems.append("set SECRET_KEY to a random value of at least 32 characters")
    if audit_chain_key == demo_audit_chain_key or len(audit_chain_key) < 32:
        problems.append(
            "set AUDIT_CHAIN_KEY to a random value of at least 32 characters, kept outside "
            "the database"
        )
    if demo_outbox:
        problems.append(
            "set EMAIL_HOST or NOTIFY_API_KEY (the demo outbox folder is for DEBUG only)"
        )
    if problems:
        raise ImproperlyConfigured(
            "Production settings (DEBUG off) refuse the demo defaults: " + "; ".join(problems)
        )
