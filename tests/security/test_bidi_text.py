"""Text-direction controls typed into names neither reverse email subjects nor spill out of
their place on a page."""

from notifications.rendering import subject_clean


def test_email_subjects_lose_direction_controls_and_line_breaks():
    subject = "Decide \u202eEvil Name\u202c’s request\r\nBcc: x@example.com \u2067x\u2069"
    cleaned = subject_clean(subject)
    assert not set(cleaned) & set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\r\n")
    assert cleaned == "Decide Evil Name’s request Bcc: x@example.com x"


def test_a_name_with_a_direction_override_is_isolated_on_cases_to_decide(client, db):
    from django.urls import reverse

    from approvals.models import ApprovalRequest
    from approvals.tests.factories import requester_and_director, submitted_case

    requester, director = requester_and_director(profile__name="\u202eRenegade")
    case = submitted_case(requester)
    approval = ApprovalRequest.objects.get(business_case=case, approver=director)
    client.force_login(director)
    for url in (
        reverse("approvals:case-list"),
        reverse("approvals:decide-signed-in", args=[approval.pk]),
    ):
        html = client.get(url).content.decode()
        assert "<bdi>\u202eRenegade</bdi>" in html, url
