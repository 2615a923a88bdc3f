"""A CSV export whose filters are in error goes back to its page, which shows them."""

import pytest
from django.urls import reverse


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("export", "params"),
    [
        ("oversight:register-csv", {"q": "x" * 20_000}),
        ("oversight:audit-trail-csv", {"actor": "x" * 20_000}),
    ],
)
def test_an_export_with_filters_too_long_to_redirect_shows_the_errors(
    client, auditor, export, params
):
    response = client.get(reverse(export), params)
    assert response.status_code == 400
    assert "text/html" in response["Content-Type"]
    assert "characters or fewer" in response.content.decode()


@pytest.mark.django_db
def test_an_export_with_a_bad_filter_goes_back_to_the_page(client, auditor):
    response = client.get(reverse("oversight:register-csv"), {"q": "x" * 101})
    assert response.status_code == 302
    assert response.url.startswith(reverse("oversight:register"))
