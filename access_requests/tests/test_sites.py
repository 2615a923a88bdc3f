"""Manage sites: admins add, rename, retire and offer again the sites staff may ask for;
a retired site is no longer offered, and what already names it keeps it."""

import re

import pytest
from django.urls import reverse
from django.utils.html import escape

from access_requests.errors import SiteNameTaken
from access_requests.models import BusinessCase, Site
from access_requests.services import sites as services
from access_requests.tests.factories import (
    AccessGrantFactory,
    BusinessCaseFactory,
    SiteFactory,
    requester_with_director,
)
from audit.models import AuditEvent
from people.models import Role
from people.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_person():
    return UserFactory(role=Role.ADMIN, email="ada.admin@example.gov.uk")


@pytest.fixture
def admin_client(client, admin_person):
    client.force_login(admin_person)
    return client


def url(name, site=None):
    return reverse(f"access_requests:{name}", kwargs={"pk": site.pk} if site else None)


def assert_error(response, message):
    html = response.content.decode()
    assert response.status_code == 200
    assert "<title>Error: " in html
    assert "govuk-error-summary" in html
    assert html.count(escape(message)) >= 2, "in the summary and beside the field"
    return html


# --- services ---------------------------------------------------------------------------------


def test_a_site_name_is_unique_whatever_its_case(admin_person):
    SiteFactory(name="LinkedIn")
    with pytest.raises(SiteNameTaken):
        services.site_create(
            name=" linkedin ",
            url="https://linkedin.example/",
            allows_shared_display_names=True,
            actor=admin_person,
        )
    other = SiteFactory(name="Bebo")
    with pytest.raises(SiteNameTaken):
        services.site_rename(site=other, name="LINKEDIN", actor=admin_person)
    assert Site.objects.filter(name__iexact="linkedin").count() == 1
    other.refresh_from_db()
    assert other.name == "Bebo"


def test_the_database_refuses_a_second_name_differing_only_in_case():
    from django.db import IntegrityError, transaction

    SiteFactory(name="LinkedIn")
    with pytest.raises(IntegrityError), transaction.atomic():
        Site.objects.create(name="LINKEDIN", url="https://other.example/")


def test_renaming_a_site_to_a_new_case_of_its_own_name_is_allowed(admin_person):
    site = SiteFactory(name="Mumsnet")
    services.site_rename(site=site, name="MumsNet", actor=admin_person)
    site.refresh_from_db()
    assert site.name == "MumsNet"


def test_retiring_twice_records_once_and_offering_again_brings_it_back(admin_person):
    site = SiteFactory(name="Bebo")
    services.site_retire(site=site, actor=admin_person)
    services.site_retire(site=site, actor=admin_person)
    site.refresh_from_db()
    assert not site.is_active
    assert AuditEvent.objects.filter(action="site.retired").count() == 1
    services.site_unretire(site=site, actor=admin_person)
    site.refresh_from_db()
    assert site.is_active


# --- the list ---------------------------------------------------------------------------------


def test_the_list_shows_each_site_with_its_status_and_actions(
    admin_client, django_assert_max_num_queries
):
    SiteFactory(name="LinkedIn")
    bebo = SiteFactory(name="Bebo", is_active=False)
    for n in range(10):
        SiteFactory(name=f"Forum {n}")
    AccessGrantFactory(business_case__sites=[bebo])
    with django_assert_max_num_queries(8):
        response = admin_client.get(url("site-list"))
    html = response.content.decode()
    assert '<h1 class="govuk-heading-l">Manage sites</h1>' in html
    rows = re.findall(r'<tr class="govuk-table__row">.*?</tr>', html, flags=re.S)
    linkedin = next(row for row in rows if "LinkedIn" in row)
    assert 'govuk-tag--green">Offered' in linkedin
    assert 'Retire<span class="govuk-visually-hidden"> LinkedIn' in linkedin
    bebo_row = next(row for row in rows if "Bebo" in row)
    assert 'govuk-tag--grey">Retired' in bebo_row
    assert "Offer again" in bebo_row
    assert re.search(r"govuk-table__cell--numeric\">1<", bebo_row)
    assert f'href="{url("site-add")}"' in html


def test_an_auditor_sees_the_list_but_no_way_to_change_it(client):
    SiteFactory(name="LinkedIn")
    client.force_login(UserFactory(role=Role.AUDITOR))
    html = client.get(url("site-list")).content.decode()
    assert "LinkedIn" in html
    assert "Add a site" not in html
    assert "Rename" not in html
    assert "Retire<" not in html
    assert client.get(url("site-add")).status_code == 403
    response = client.post(url("site-add"), {"name": "Myspace", "url": "https://m.example/"})
    assert response.status_code == 403
    assert not Site.objects.filter(name="Myspace").exists()


def test_admins_find_manage_sites_from_their_home_page(admin_client):
    html = admin_client.get(reverse("home")).content.decode()
    assert f'href="{url("site-list")}">Manage sites</a>' in html


# --- adding -----------------------------------------------------------------------------------


def test_an_admin_adds_a_site_that_staff_are_then_offered(admin_client, admin_person, client):
    response = admin_client.post(
        url("site-add"),
        {
            "name": "Mastodon",
            "url": "https://mastodon.example/",
            "allows_shared_display_names": "no",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == url("site-list")
    site = Site.objects.get(name="Mastodon")
    assert site.is_active and not site.allows_shared_display_names
    event = AuditEvent.objects.get(action="site.created")
    assert event.actor_id == admin_person.pk
    assert (
        "Mastodon is added and offered to staff."
        in admin_client.get(url("site-list")).content.decode()
    )

    draft = BusinessCaseFactory(sites=[])
    client.force_login(draft.requester)
    page = client.get(reverse("access_requests:case-sites", kwargs={"pk": draft.pk}))
    assert "Mastodon" in page.content.decode()


@pytest.mark.parametrize(
    "data, message",
    [
        (
            {"url": "https://x.example/", "allows_shared_display_names": "yes"},
            "Enter the site's name",
        ),
        ({"name": "X", "allows_shared_display_names": "yes"}, "Enter the site's address"),
        (
            {"name": "X", "url": "not a web address", "allows_shared_display_names": "yes"},
            "Enter the site's address in the correct format, like https://www.example.com/",
        ),
        (
            {"name": "X", "url": "https://x.example/"},
            "Select yes if several accounts may share one display name",
        ),
        (
            {"name": "x" * 101, "url": "https://x.example/", "allows_shared_display_names": "yes"},
            "The site's name must be 100 characters or fewer",
        ),
        (
            {"name": "linkedin", "url": "https://x.example/", "allows_shared_display_names": "yes"},
            "A site called linkedin already exists",
        ),
    ],
)
def test_adding_a_site_says_what_is_wrong_and_keeps_what_was_typed(admin_client, data, message):
    SiteFactory(name="LinkedIn")
    before = Site.objects.count()
    html = assert_error(admin_client.post(url("site-add"), data), message)
    if data.get("url"):
        assert escape(data["url"]) in html
    assert Site.objects.count() == before


# --- renaming ---------------------------------------------------------------------------------


def test_an_admin_renames_a_site_and_grants_show_the_new_name(admin_client):
    site = SiteFactory(name="Twitter")
    grant = AccessGrantFactory(business_case__sites=[site])
    page = admin_client.get(url("site-rename", site)).content.decode()
    assert 'value="Twitter"' in page
    response = admin_client.post(url("site-rename", site), {"name": "X"})
    assert response.status_code == 302
    site.refresh_from_db()
    assert site.name == "X"
    assert "Twitter is renamed X." in admin_client.get(url("site-list")).content.decode()
    assert list(grant.sites.values_list("name", flat=True)) == ["X"]


@pytest.mark.parametrize(
    "name, message",
    [("", "Enter the site's name"), ("BEBO", "A site called BEBO already exists")],
)
def test_renaming_says_what_is_wrong(admin_client, name, message):
    SiteFactory(name="Bebo")
    site = SiteFactory(name="Twitter")
    assert_error(admin_client.post(url("site-rename", site), {"name": name}), message)
    site.refresh_from_db()
    assert site.name == "Twitter"


def test_an_unknown_site_is_not_found(admin_client):
    assert (
        admin_client.get(reverse("access_requests:site-rename", kwargs={"pk": 999999})).status_code
        == 404
    )


# --- retiring ---------------------------------------------------------------------------------


def test_retiring_asks_first_then_takes_the_site_off_the_sites_question(admin_client, client):
    site = SiteFactory(name="Bebo")
    SiteFactory(name="LinkedIn")
    grant = AccessGrantFactory(provisioned=True, business_case__sites=[site])
    confirm = admin_client.get(url("site-retire", site)).content.decode()
    assert "Are you sure you want to retire <bdi>Bebo</bdi>?" in confirm
    assert "1 current grant names it" in confirm
    site.refresh_from_db()
    assert site.is_active  # the question changed nothing

    response = admin_client.post(url("site-retire", site))
    assert response.status_code == 302
    site.refresh_from_db()
    assert not site.is_active
    listed = admin_client.get(url("site-list")).content.decode()
    assert "Bebo is retired: staff can no longer ask for it." in listed

    # Not offered on the sites question any more...
    draft = BusinessCaseFactory(sites=[])
    client.force_login(draft.requester)
    question = client.get(reverse("access_requests:case-sites", kwargs={"pk": draft.pk}))
    assert "LinkedIn" in question.content.decode()
    assert "Bebo" not in question.content.decode()
    # ...while the grant that names it keeps it.
    client.force_login(grant.holder)
    page = client.get(reverse("access_requests:grant-detail", kwargs={"pk": grant.pk}))
    assert "Bebo" in page.content.decode()
    assert list(grant.sites.values_list("name", flat=True)) == ["Bebo"]


def test_a_retired_site_can_be_offered_again(admin_client):
    site = SiteFactory(name="Bebo", is_active=False)
    assert (
        "Offer <bdi>Bebo</bdi> to staff again?"
        in admin_client.get(url("site-unretire", site)).content.decode()
    )
    admin_client.post(url("site-unretire", site))
    site.refresh_from_db()
    assert site.is_active
    # Retiring or offering again what is already so says so, changing nothing.
    response = admin_client.get(url("site-unretire", site), follow=True)
    assert "Bebo is already offered to staff." in response.content.decode()


# --- a draft that chose a site retired since -------------------------------------------------


def test_a_draft_with_a_retired_site_is_told_to_take_it_off_and_cannot_be_sent(client):
    bebo = SiteFactory(name="Bebo")
    linkedin = SiteFactory(name="LinkedIn")
    draft = BusinessCaseFactory(requester=requester_with_director(), sites=[bebo, linkedin])
    services.site_retire(site=bebo, actor=UserFactory(role=Role.ADMIN))
    client.force_login(draft.requester)
    check_url = reverse("access_requests:case-check", kwargs={"pk": draft.pk})

    check = client.get(check_url)
    html = check.content.decode()
    assert "which sites (take off Bebo: it is no longer offered)" in html
    # Continue goes to the sites question, which says what will happen.
    resumed = client.get(reverse("access_requests:case-continue", kwargs={"pk": draft.pk}))
    sites_url = reverse("access_requests:case-sites", kwargs={"pk": draft.pk})
    assert resumed["Location"] == sites_url
    assert "Bebo is no longer offered" in client.get(sites_url).content.decode()

    seen = check.context["form"]["answers_seen"].value()
    sent = client.post(check_url, {"answers_seen": seen})
    assert sent.status_code == 200
    assert "govuk-error-summary" in sent.content.decode()
    assert "take off Bebo" in sent.content.decode()
    draft.refresh_from_db()
    assert draft.status == BusinessCase.Status.DRAFT

    # Taking it off (the question's form no longer lists it) lets the case go.
    client.post(sites_url, {"sites": [str(linkedin.pk)]})
    check = client.get(check_url)
    assert "no longer offered" not in check.content.decode()
    seen = check.context["form"]["answers_seen"].value()
    assert client.post(check_url, {"answers_seen": seen}).status_code == 302
    draft.refresh_from_db()
    assert draft.status == BusinessCase.Status.SUBMITTED
