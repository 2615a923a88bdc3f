"""`{% fixed_url %}` and `{% fixed_static %}` write what `{% url %}` and `{% static %}` write,
and follow a change of URL conf or script prefix."""

import pytest
from django.template import Context, Template
from django.test import override_settings
from django.urls import clear_script_prefix, set_script_prefix

from core.templatetags.fixed_urls import fixed_reverse


def render(text: str) -> str:
    return Template("{% load fixed_urls static %}" + text).render(Context())


@pytest.mark.parametrize("name", ["home", "sign-out", "guidance", "access_requests:case-list"])
def test_a_fixed_url_is_the_url_tags_address(name):
    assert render(f"{{% fixed_url '{name}' %}}") == render(f"{{% url '{name}' %}}")


def test_a_fixed_static_is_the_static_tags_address():
    for path in ["portal/portal.css", "govuk/govuk-frontend.min.js", "a b&c.css"]:
        assert render(f"{{% fixed_static '{path}' %}}") == render(f"{{% static '{path}' %}}")


def test_a_fixed_url_follows_the_script_prefix_and_the_url_conf():
    home = fixed_reverse("help")
    set_script_prefix("/portal/")
    try:
        assert fixed_reverse("help") == "/portal" + home
    finally:
        clear_script_prefix()
    assert fixed_reverse("help") == home
    with override_settings(ROOT_URLCONF="core.tests.urls_elsewhere"):
        assert fixed_reverse("help") == "/elsewhere/help/"
    assert fixed_reverse("help") == home
