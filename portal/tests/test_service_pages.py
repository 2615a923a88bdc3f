"""The pages every GOV.UK service has: help and contact, cookies, accessibility, feedback."""

import pytest
from django.urls import reverse

from people.tests.factories import UserFactory


@pytest.mark.django_db
@pytest.mark.parametrize("signed_in", [False, True])
def test_the_footer_links_to_help_accessibility_and_cookies_for_everyone(client, signed_in):
    if signed_in:
        client.force_login(UserFactory())
    html = client.get(reverse("sign-in") if not signed_in else reverse("home")).content.decode()
    for name, label in [
        ("help", "Help and contact"),
        ("accessibility", "Accessibility statement"),
        ("privacy", "Privacy"),
        ("cookies", "Cookies"),
    ]:
        assert f'href="{reverse(name)}">{label}</a>' in html
        assert client.get(reverse(name)).status_code == 200


@pytest.mark.django_db
def test_the_contact_set_for_the_department_is_shown_wherever_people_are_told_to_get_in_touch(
    client, settings
):
    settings.SNS_CONTACT_EMAIL = "sns-help@dept.example.gov.uk"
    settings.SNS_CONTACT_URL = "https://dept.example.gov.uk/contact-sns"
    for url in [reverse("help"), reverse("accessibility"), "/no-such-page/"]:
        html = client.get(url).content.decode()
        assert 'href="mailto:sns-help@dept.example.gov.uk"' in html, url
        assert 'href="https://dept.example.gov.uk/contact-sns"' in html, url
    html = client.get(reverse("people:password-reset-sent")).content.decode()
    assert "sns-help@dept.example.gov.uk" in html


@pytest.mark.django_db
def test_the_phase_banner_asks_for_feedback_at_the_configured_address(client, settings):
    settings.SNS_CONTACT_EMAIL = "sns-help@dept.example.gov.uk"
    html = client.get(reverse("sign-in")).content.decode()
    assert 'href="mailto:sns-help@dept.example.gov.uk?subject=Feedback%20on%20' in html
    settings.SNS_FEEDBACK_URL = "https://forms.example.gov.uk/sns-feedback"
    html = client.get(reverse("sign-in")).content.decode()
    assert (
        '<a class="govuk-link" href="https://forms.example.gov.uk/sns-feedback">give your feedback</a>'
        in html
    )


@pytest.mark.django_db
def test_the_cookies_page_names_the_cookies_the_service_sets(client, settings):
    html = client.get(reverse("cookies")).content.decode()
    assert settings.SESSION_COOKIE_NAME in html and settings.CSRF_COOKIE_NAME in html
    assert "8 hours, or when you sign out" in html


@pytest.mark.django_db
def test_the_accessibility_statement_follows_the_model_and_says_what_the_tests_cover(client):
    html = client.get(reverse("accessibility")).content.decode()
    for heading in [
        "How accessible this service is",
        "Feedback and contact information",
        "Enforcement procedure",
        "Technical information about this service's accessibility",
        "Compliance status",
        "How we tested this service",
    ]:
        assert heading in html, heading
    assert "axe-core" in html and "Nu HTML Checker" in html and "keyboard alone" in html


@pytest.mark.django_db
def test_the_privacy_notice_states_the_periods_the_department_has_set(client, settings):
    settings.SNS_RETENTION_EMAIL_BODY_DAYS = 45
    settings.SNS_RETENTION_CASE_TEXT_DAYS = 1000
    settings.SNS_RETENTION_SIGN_IN_DAYS = 30
    settings.SNS_RETENTION_CLIENT_DAYS = 400
    html = client.get(reverse("privacy")).content.decode()
    assert "deleted from it after 400 days" in html
    assert "deleted 45 days after it was sent" in html
    assert "deleted 1000 days after the request closes" in html
    assert "sign-in records are deleted after 30 days" in html
    assert "network address and your browser" in html
