"""The fresh processes `core.processes` starts get what reading the database needs, and none
of the caller's secrets: a crash dump, a core file or a debugger attached to one of them
shows no signing key, chain key or mail password."""

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import override_settings

from core.processes import django_process_pool

SECRETS = {
    "SECRET_KEY": "caller-signing-key-" + "s" * 40,
    "AUDIT_CHAIN_KEY": "caller-chain-key-" + "c" * 40,
    "EMAIL_HOST_PASSWORD": "caller-mail-password",
    "NOTIFY_API_KEY": "caller-notify-key",
    "OIDC_CLIENT_SECRET": "caller-oidc-secret",
}


def what_the_process_holds() -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection as process_connection

    held = {}
    for name in SECRETS:
        try:
            held[name] = getattr(settings, name, None)
        except ImproperlyConfigured:  # Django's answer for an empty SECRET_KEY
            held[name] = None
    held["people"] = get_user_model().objects.count()
    held["database"] = process_connection.settings_dict["NAME"]
    process_connection.close()
    return held


@pytest.mark.django_db(transaction=True)
@override_settings(**SECRETS)
def test_the_processes_read_the_callers_database_without_its_secrets(django_user_model):
    django_user_model.objects.create_user(email="someone@example.gov.uk", password="x" * 20)
    with django_process_pool(workers=1, using="default") as pool:
        held = pool.submit(what_the_process_holds).result(timeout=120)
    assert held["database"] == connection.settings_dict["NAME"]
    assert held["people"] == 1
    for name, value in SECRETS.items():
        assert held[name] != value, f"{name} reached the process"
