"""`load_demo_data` (run by `make run`): the demo accounts can sign in, and running it again
changes nothing."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from audit.models import AuditEvent
from people.models import User
from portal.management.commands.load_demo_data import DEMO_PASSWORD

pytestmark = pytest.mark.django_db


def test_demo_accounts_sign_in_with_the_printed_password_and_a_rerun_changes_nothing(client):
    call_command("load_demo_data", verbosity=0)
    accounts = User.objects.filter(email__endswith="@example.gov.uk")
    assert accounts.count() > 3
    password_events = AuditEvent.objects.filter(action="people.password_set")
    assert password_events.count() == accounts.count()
    assert set(password_events.values_list("actor_label", flat=True)) == {"system:load_demo_data"}

    someone = accounts.order_by("email").first()
    response = client.post(
        reverse("sign-in"), {"username": someone.email, "password": DEMO_PASSWORD}
    )
    assert response.status_code == 302

    last_event = AuditEvent.objects.order_by("-id").first()
    call_command("load_demo_data", verbosity=0)
    new_actions = AuditEvent.objects.filter(id__gt=last_event.id).values_list("action", flat=True)
    assert list(new_actions) == [
        "people.staff_imported"
    ]  # nobody created, updated or re-passworded
