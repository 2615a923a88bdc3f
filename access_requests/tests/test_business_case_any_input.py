"""Whatever a browser (or a person editing the page) posts to a question page, the answer
is a page with the form or the next page: never a server error."""

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings, strategies as st

from access_requests.services import business_cases as services
from access_requests.tests.factories import SiteFactory
from people.tests.factories import UserFactory

FIELDS = {
    "case-sites": ["sites"],
    "case-tier": ["tier"],
    "case-standalone-pc": [
        "paying_business_unit",
        "budget_holder_email",
        "pc_choice",
        "pc_asset_tag",
    ],
    "case-need": ["purpose", "audience", "integration"],
    "case-dates": [
        "start_date_0",
        "start_date_1",
        "start_date_2",
        "end_date_0",
        "end_date_1",
        "end_date_2",
    ],
    "case-identity": [
        "display_name",
        "uses_pseudonym",
        "pseudonym_reason",
        "identifies_as_official",
        "not_official_reason",
    ],
    "case-declarations": ["declared_read_guidance", "declared_separate_identities"],
    "case-check": ["answers_seen"],
}

values = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["", "0", "-1", "99999999999999999999", "yes", "no", "active", "existing", "on"]
    ),
    st.lists(st.text(max_size=8), max_size=3),
)


@pytest.mark.django_db
@pytest.mark.parametrize("page", list(FIELDS))
def test_any_posted_values_give_a_page_not_a_server_error(client, page):
    person = UserFactory()
    site = SiteFactory(name="LinkedIn")
    case = services.business_case_start(requester=person)
    services.business_case_set_sites(case=case, actor=person, sites=[site])
    services.business_case_save_answers(case=case, actor=person, answers={"tier": "active"})
    client.force_login(person)
    kwargs = {"pk": case.pk}
    if page == "case-identity":
        kwargs["site_pk"] = site.pk
    url = reverse(f"access_requests:{page}", kwargs=kwargs)

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.dictionaries(st.sampled_from(FIELDS[page]), values, max_size=len(FIELDS[page])))
    def post_anything(data):
        response = client.post(url, data)
        assert response.status_code in (200, 302), response.status_code

    post_anything()
