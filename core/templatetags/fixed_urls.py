"""`{% fixed_url %}` and `{% fixed_static %}`: `{% url %}` for a URL without arguments and
`{% static %}`, worked out once per process rather than on every page.

The page chrome (`base.html`: the header, the footer, the sign-out form, the stylesheets
and scripts) names the same fourteen addresses on every page; reversing a URL and looking
a file up in the static files' manifest cost a page about as much as the rest of its
chrome. Both answers are fixed while the URL conf, the script prefix and the static files
settings are, so they are kept per (name, script prefix, URL conf), and forgotten when a
test changes those settings.
"""

from functools import lru_cache

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.templatetags.static import static
from django.urls import get_script_prefix, get_urlconf, reverse

register = template.Library()


@lru_cache(maxsize=256)
def _reversed(url_name: str, prefix: str, urlconf) -> str:
    return reverse(url_name, urlconf=urlconf)


def fixed_reverse(url_name: str) -> str:
    """`reverse(url_name)` for a URL that takes no arguments, once per process."""
    return _reversed(url_name, get_script_prefix(), get_urlconf())


@lru_cache(maxsize=256)
def _static(path: str, prefix: str) -> str:
    return static(path)


@register.simple_tag
def fixed_url(url_name: str) -> str:
    """`{% url "name" %}` for a URL without arguments (the same text, escaped the same)."""
    return fixed_reverse(url_name)


@register.simple_tag
def fixed_static(path: str) -> str:
    """`{% static "path" %}` (the same text, escaped the same)."""
    return _static(path, get_script_prefix())


_URL_SETTINGS = {"ROOT_URLCONF", "INSTALLED_APPS"}
_STATIC_SETTINGS = {"STATIC_URL", "STATIC_ROOT", "STORAGES", "STATICFILES_DIRS", "DEBUG"}


@receiver(setting_changed)
def _forget(*, setting, **kwargs):
    if setting in _URL_SETTINGS:
        _reversed.cache_clear()
    if setting in _STATIC_SETTINGS:
        _static.cache_clear()
