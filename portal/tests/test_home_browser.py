import pytest
from playwright.sync_api import expect

from conftest import browser_sign_in
from people.tests.factories import UserFactory


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_person_signs_in_in_chromium_and_sees_their_home_page(live_server, page):
    user = UserFactory(profile__name="Priya Patel")
    page.goto(live_server.url + "/")
    expect(page).to_have_title("Sign in – Request social media access – Home Office")
    browser_sign_in(page, live_server, user)
    expect(page.get_by_role("heading", level=1)).to_have_text("Request social media access")
    expect(page.get_by_text("Hello, Priya Patel.")).to_be_visible()
    # GOV.UK Frontend's stylesheet and its font loaded from our static files.
    font = page.evaluate("getComputedStyle(document.querySelector('h1')).fontFamily")
    assert "GDS Transport" in font
    assert page.evaluate("document.body.classList.contains('govuk-frontend-supported')")
