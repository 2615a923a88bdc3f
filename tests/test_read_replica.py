"""The oversight wing and the read API read from a real PostgreSQL streaming replica.

A second cluster on loopback, made with pg_basebackup from the test database's own
(`streaming_replica`, tests/conftest.py). Which database served a page is shown by pausing
the replica's replay: rows committed on the primary afterwards are on the primary only, so
a page that leaves them out was read from the replica, and one that shows them was read
from the primary.
"""

import csv
import io
import time

import pytest
from django.db import transaction
from django.test import Client, RequestFactory
from django.urls import reverse

from access_requests.models import Site
from access_requests.tests.factories import SiteFactory
from api.models import Scope
from api.services import service_token_revoke
from api.tests.factories import bearer, token_with
from core.replica import LAG_CHECK_SECONDS, reading_from_replica, reads_from_replica
from monitoring.tests.test_metrics import TOKEN as METRICS_TOKEN, value
from oversight.tests.factories import grant_held
from people.models import Role
from people.tests.factories import UserFactory

pytestmark = [
    pytest.mark.replica,
    pytest.mark.django_db(transaction=True, databases=["default", "replica"]),
]

REPLICA_NOTE = "Read from the database replica"


def register_page(client) -> str:
    response = client.get(reverse("oversight:register"))
    assert response.status_code == 200
    return response.content.decode()


def register_csv_names(client) -> str:
    response = client.get(reverse("oversight:register-csv"))
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    return " ".join(" ".join(row) for row in csv.reader(io.StringIO(text)))


def signed_in_admin() -> Client:
    client = Client()
    client.force_login(UserFactory(role=Role.ADMIN))
    return client


def test_the_register_and_its_csv_are_read_from_the_replica(replica_alias):
    admin = signed_in_admin()
    grant_held(name="Casey Caughtup")
    replica_alias.wait_for_replay()
    replica_alias.pause_replay()
    grant_held(name="Nell Notyet")  # committed on the primary only

    page = register_page(admin)
    assert "Casey Caughtup" in page
    assert "Nell Notyet" not in page
    assert REPLICA_NOTE in page
    exported = register_csv_names(admin)
    assert "Casey Caughtup" in exported
    assert "Nell Notyet" not in exported

    replica_alias.resume_replay()
    replica_alias.wait_for_replay()
    assert "Nell Notyet" in register_page(admin)
    assert "Nell Notyet" in register_csv_names(admin)


def test_the_read_api_reads_from_the_replica(client, replica_alias):
    headers = bearer(token_with(Scope.REGISTER_READ)[1])
    grant_held(name="Casey Caughtup")
    replica_alias.wait_for_replay()
    replica_alias.pause_replay()
    grant_held(name="Nell Notyet")

    response = client.get(reverse("api-v1:grants"), **headers)
    assert response.status_code == 200
    assert "Casey Caughtup" in response.content.decode()
    assert "Nell Notyet" not in response.content.decode()

    replica_alias.resume_replay()
    replica_alias.wait_for_replay()
    assert "Nell Notyet" in client.get(reverse("api-v1:grants"), **headers).content.decode()


def test_an_admin_who_just_revoked_access_sees_it_gone_while_others_read_the_replica(
    settings, replica_alias
):
    settings.SNS_READ_YOUR_WRITES_SECONDS = 3
    revoker, onlooker = signed_in_admin(), signed_in_admin()
    grant = grant_held(name="Rae Revoked")
    replica_alias.wait_for_replay()
    replica_alias.pause_replay()

    response = revoker.post(
        reverse("access_requests:grant-revoke", args=[grant.pk]), {"reason": "Left the team"}
    )
    assert response.status_code == 302
    register_page(revoker)  # shows the "is revoked" message, naming the holder, once
    # Their own change: the register comes from the primary, without the revoked grant.
    page = register_page(revoker)
    assert "Rae Revoked" not in page
    assert "because you changed something" in page
    assert "Rae Revoked" not in register_csv_names(revoker)
    # Someone else reads the replica, still behind.
    page = register_page(onlooker)
    assert "Rae Revoked" in page
    assert REPLICA_NOTE in page

    time.sleep(settings.SNS_READ_YOUR_WRITES_SECONDS)
    assert "Rae Revoked" in register_page(revoker)  # the replica again, still paused


def test_a_replica_too_far_behind_leaves_reads_on_the_primary(settings, replica_alias):
    settings.SNS_REPLICA_MAX_LAG_SECONDS = 1
    settings.METRICS_TOKEN = METRICS_TOKEN
    admin = signed_in_admin()
    replica_alias.wait_for_replay()
    replica_alias.pause_replay()
    grant_held(name="Lou Lagging")
    # Past the limit, and past the time a process trusts its last look at the lag.
    time.sleep(max(LAG_CHECK_SECONDS, settings.SNS_REPLICA_MAX_LAG_SECONDS) + 0.2)

    page = register_page(admin)
    assert "Lou Lagging" in page
    assert "more than the 1 allowed" in page
    assert "Lou Lagging" in register_csv_names(admin)
    metrics = Client().get(reverse("metrics"), HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    assert value(metrics.content.decode(), "sns_replica_lag_seconds") > 1
    assert value(metrics.content.decode(), "sns_replica_up") == 1


def test_writes_and_reads_inside_a_transaction_go_to_the_primary(replica_alias):
    replica_alias.pause_replay()

    @reads_from_replica
    def view(request):
        site = SiteFactory(name="Written on the primary")  # the replica would refuse it
        with transaction.atomic():
            seen_in_transaction = Site.objects.filter(pk=site.pk).exists()
        seen_outside = Site.objects.filter(pk=site.pk).exists()
        return reading_from_replica(), seen_in_transaction, seen_outside

    on_replica, seen_in_transaction, seen_outside = view(RequestFactory().get("/"))
    assert on_replica
    assert seen_in_transaction  # the primary, in the write's own transaction
    assert not seen_outside  # the paused replica
    assert Site.objects.filter(name="Written on the primary").exists()


def test_a_stopped_replica_leaves_pages_on_the_primary(replica_alias):
    admin = signed_in_admin()
    grant_held(name="Casey Caughtup")
    replica_alias.wait_for_replay()
    assert REPLICA_NOTE in register_page(admin)

    replica_alias.stop()
    grant_held(name="Nia New")
    # The replica was answering a moment ago: the page's reads fail there and run again on
    # the primary.
    page = register_page(admin)
    assert "Nia New" in page
    assert "not answering" in page
    # Until it is checked again, the replica is left alone.
    assert "Nia New" in register_csv_names(admin)
    time.sleep(LAG_CHECK_SECONDS + 0.2)
    page = register_page(admin)
    assert "Nia New" in page
    assert "not answering" in page
    response = Client().get(reverse("api-v1:grants"), **bearer(token_with(Scope.REGISTER_READ)[1]))
    assert response.status_code == 200
    assert "Nia New" in response.content.decode()


def test_a_revoked_token_or_a_removed_role_stops_at_once_while_the_replica_is_behind(
    replica_alias,
):
    token, secret = token_with(Scope.REGISTER_READ)
    admin = UserFactory(role=Role.ADMIN)
    client = Client()
    client.force_login(admin)
    replica_alias.wait_for_replay()
    replica_alias.pause_replay()

    service_token_revoke(token=token, actor=token.owner)
    admin.groups.clear()

    # Who someone is and what they may do come from the primary, not the replica.
    assert Client().get(reverse("api-v1:grants"), **bearer(secret)).status_code == 401
    assert client.get(reverse("oversight:register")).status_code == 403
