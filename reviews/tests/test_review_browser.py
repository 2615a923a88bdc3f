import pytest
from playwright.sync_api import expect

from access_requests.models import AccessGrant
from notifications.models import OutboundEmail
from reviews import services

from .factories import department, grant_held_in


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_director_reviews_from_the_emailed_link_through_sign_in(live_server, page, settings):
    settings.PORTAL_BASE_URL = live_server.url
    directorate, director = department()
    keep = grant_held_in(directorate)
    end = grant_held_in(directorate, active=True)
    review = services.access_review_start(actor=director)
    link = f"{live_server.url}/reviews/{review.pk}/"
    assert link in OutboundEmail.objects.get(template="review_started").body_text

    page.goto(link)  # the emailed link leads through sign-in
    expect(page).to_have_url(f"{live_server.url}/sign-in/?next=/reviews/{review.pk}/")
    page.get_by_label("Email address").fill(director.email)
    page.get_by_label("Password").fill("pass-word-123")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Review access")).to_be_visible()

    end_item = review.items.get(grant=end)
    keep_item = review.items.get(grant=keep)
    page.locator(f"#id_decision_{end_item.pk}_2").check()
    page.get_by_role("button", name="Save decisions").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("access should end")
    summary.get_by_role("link").first.click()
    expect(page.locator(f"#id_reason_{end_item.pk}")).to_be_focused()
    page.locator(f"#id_reason_{end_item.pk}").fill("Moved to another team")
    page.locator(f"#id_decision_{keep_item.pk}_1").check()
    page.get_by_role("button", name="Save decisions").click()
    expect(page.get_by_role("heading", name="Nothing left to review")).to_be_visible()
    end.refresh_from_db()
    assert end.status == AccessGrant.Status.REVOKED
