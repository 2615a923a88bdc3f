"""Labels and hints are built from site names and people's names: they are shown as text."""

import pytest
from django.urls import reverse

from access_requests.tests.factories import BusinessCaseFactory, SiteFactory
from people.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SITE = "<script>alert(1)</script>"
PERSON = "<b>x</b>"


@pytest.fixture
def draft(client):
    person = UserFactory(profile__name=PERSON)
    site = SiteFactory(name=SITE)
    case = BusinessCaseFactory(requester=person, sites=[site])
    client.force_login(person)
    return case, site


def test_the_identity_question_shows_the_site_and_persons_names_as_text(client, draft):
    case, site = draft
    page = client.get(
        reverse("access_requests:case-identity", kwargs={"pk": case.pk, "site_pk": site.pk})
    ).content.decode()
    assert SITE not in page and PERSON not in page
    assert "What name will you use on &lt;script&gt;alert(1)&lt;/script&gt;?" in page
    assert "Use your commonly used name, &lt;b&gt;x&lt;/b&gt;." in page


def test_the_sites_question_shows_the_site_name_as_text(client, draft):
    case, _ = draft
    page = client.get(reverse("access_requests:case-sites", kwargs={"pk": case.pk})).content
    assert SITE not in page.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.decode()
