"""The benchmark's floor page, mounted only when benchmarking (settings.BENCH_ENABLED)."""

import importlib
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.urls import NoReverseMatch, clear_url_caches, reverse

import portal.urls
from bench.data.accounts import BENCH_USERS
from people.models import User
from people.tests.factories import UserFactory

SCALE = 0.001


@pytest.fixture
def urls_reloaded():
    """Rebuild the root URLconf under the test's settings, and again afterwards."""

    def reload():
        clear_url_caches()
        importlib.reload(portal.urls)

    yield reload
    reload()


@pytest.mark.django_db
def test_the_floor_page_is_absent_unless_enabled(client, urls_reloaded):
    urls_reloaded()
    with pytest.raises(NoReverseMatch):
        reverse("bench:floor")
    client.force_login(UserFactory())
    assert client.get("/bench/floor/").status_code == 404


@pytest.mark.django_db
def test_the_floor_page_shows_25_grants_when_enabled(client, urls_reloaded, site_catalogue):
    call_command("load_bench_data", scale=SCALE, verbosity=0, stdout=StringIO())
    with override_settings(BENCH_ENABLED=True):
        urls_reloaded()
        client.force_login(User.objects.get(email=BENCH_USERS["staff"]))
        response = client.get(reverse("bench:floor"))
        assert response.status_code == 200
        assert response.content.decode().count("<tr><td>") == 25
    urls_reloaded()
    with pytest.raises(NoReverseMatch):
        reverse("bench:floor")
