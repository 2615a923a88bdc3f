"""Runners for the business-case services (access_requests.services.business_cases, case_copies) and the sites."""

from django.utils import timezone

from access_requests.models import BusinessCase
from access_requests.services import (
    business_cases as case_services,
    case_copies,
    sites as site_services,
)
from access_requests.tests.factories import (
    BusinessCaseFactory,
    SiteFactory,
)
from approvals import services as approval_services
from approvals.tests.factories import (
    submitted_case,
)
from audit.services import SystemActor
from people.models import Role
from people.tests.factories import UserFactory

from .common import CLIENT, Expected, _status

# --- access_requests.services.business_cases --------------------------------------------------

CASES = "access_requests.services.business_cases"


def run_business_case_start(run):
    requester = UserFactory()
    run.service_starts()
    case = case_services.business_case_start(requester=requester, client=CLIENT)
    return Expected("case.started", case, requester.email, CLIENT.address, _status(None, "draft"))


def run_business_case_save_answers(run):
    case = BusinessCaseFactory()
    old_purpose = case.purpose
    run.service_starts()
    case_services.business_case_save_answers(
        case=case, actor=case.requester, answers={"purpose": "A new purpose."}, client=CLIENT
    )
    return Expected(
        "case.answers_saved",
        case,
        case.requester.email,
        CLIENT.address,
        {"purpose": [old_purpose, "A new purpose."]},
    )


def run_business_case_set_sites(run):
    case = BusinessCaseFactory(sites=[SiteFactory(name="LinkedIn")])
    run.service_starts()
    case_services.business_case_set_sites(
        case=case, actor=case.requester, sites=[SiteFactory(name="X")], client=CLIENT
    )
    return Expected(
        "case.sites_changed",
        case,
        case.requester.email,
        CLIENT.address,
        {"sites": [["LinkedIn"], ["X"]]},
    )


def run_business_case_save_identity(run):
    site = SiteFactory(name="LinkedIn")
    case = BusinessCaseFactory(sites=[site])
    old_name = case.requester.display_name
    run.service_starts()
    case_services.business_case_save_identity(
        case=case,
        site=site,
        actor=case.requester,
        display_name="Comms Team",
        uses_pseudonym=True,
        pseudonym_reason="A team account",
        identifies_as_official=True,
        not_official_reason="",
        client=CLIENT,
    )
    return Expected(
        "case.identity_saved",
        case,
        case.requester.email,
        CLIENT.address,
        {"display_name": [old_name, "Comms Team"], "uses_pseudonym": [False, True]},
    )


def run_business_case_delete_draft(run):
    case = BusinessCaseFactory()
    run.service_starts()
    case_services.business_case_delete_draft(case=case, actor=case.requester, client=CLIENT)
    assert not BusinessCase.objects.filter(pk=case.pk).exists()
    return Expected(
        "case.draft_deleted", case, case.requester.email, CLIENT.address, _status("draft", None)
    )


def run_business_case_submit(run):
    case = BusinessCaseFactory()
    run.service_starts()
    case_services.business_case_submit(case=case, actor=case.requester, client=CLIENT)
    return Expected(
        "case.submitted", case, case.requester.email, CLIENT.address, _status("draft", "submitted")
    )


def run_business_case_withdraw(run):
    case = submitted_case()
    run.service_starts()
    case_services.business_case_withdraw(
        case=case, actor=case.requester, reason="No longer needed", client=CLIENT
    )
    return [
        Expected(
            "case.withdrawn",
            case,
            case.requester.email,
            CLIENT.address,
            {**_status("submitted", "withdrawn"), "reason": "No longer needed"},
        ),
    ]


def run_business_case_lapse(run):
    case = submitted_case()
    run.service_starts()
    case_services.business_case_lapse(
        case=case,
        actor=SystemActor("case_lapse_due"),
        lapsed_at=timezone.now(),
        approval_requests_expired=[],
    )
    return Expected(
        "case.lapsed", case, "system:case_lapse_due", changes=_status("submitted", "lapsed")
    )


CASE_COPIES = "access_requests.services.case_copies"


def run_business_case_ask_again(run):
    old = submitted_case()
    approval_services.case_withdraw(case=old, actor=old.requester)
    run.service_starts()
    new = case_copies.business_case_ask_again(case=old, actor=old.requester, client=CLIENT)
    assert new.asked_again_from_id == old.pk
    return Expected(
        "case.asked_again",
        new,
        old.requester.email,
        CLIENT.address,
        {**_status(None, "draft"), "asked_again_from": old.reference},
    )


# --- access_requests.services.sites ----------------------------------------------------------

SITES = "access_requests.services.sites"


def run_site_create(run):
    admin = UserFactory(role=Role.ADMIN)
    run.service_starts()
    site = site_services.site_create(
        name="Mastodon",
        url="https://mastodon.example/",
        allows_shared_display_names=False,
        actor=admin,
        client=CLIENT,
    )
    return Expected("site.created", site, admin.email, CLIENT.address, {"name": [None, "Mastodon"]})


def run_site_rename(run):
    admin = UserFactory(role=Role.ADMIN)
    site = SiteFactory(name="Twitter")
    run.service_starts()
    site_services.site_rename(site=site, name="X", actor=admin, client=CLIENT)
    return Expected("site.renamed", site, admin.email, CLIENT.address, {"name": ["Twitter", "X"]})


def run_site_retire(run):
    admin = UserFactory(role=Role.ADMIN)
    site = SiteFactory(name="Bebo")
    run.service_starts()
    site_services.site_retire(site=site, actor=admin, client=CLIENT)
    return Expected("site.retired", site, admin.email, CLIENT.address, {"offered": [True, False]})


def run_site_unretire(run):
    admin = UserFactory(role=Role.ADMIN)
    site = SiteFactory(name="Bebo", is_active=False)
    run.service_starts()
    site_services.site_unretire(site=site, actor=admin, client=CLIENT)
    return Expected("site.unretired", site, admin.email, CLIENT.address, {"offered": [False, True]})
