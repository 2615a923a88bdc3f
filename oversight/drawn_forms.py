"""Filter forms drawn once a minute, not on every request.

The filter forms' lists (business units, directorates, approvers, sites; the trail's
actions and object types) change rarely, and drawing a form through crispy-forms costs more
than the rest of the page: the drawn form is kept for a minute per page and combination of
filters (each process's local-memory cache), never when it shows errors."""

import hashlib

from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils.http import urlencode
from django.utils.safestring import mark_safe

FILTER_FORM_CACHE_SECONDS = 60


def cache_key(prefix: str, query: dict) -> str:
    """One cache key per combination of filters (their order in the URL does not matter)."""
    return f"{prefix}:" + hashlib.sha256(urlencode(sorted(query.items())).encode()).hexdigest()


def filter_form_html(form, query: dict, page: str = "register") -> str:
    """`form` drawn (`oversight/includes/filter_form.html`), from the cache when `page` drew
    it with the same `query` in the last minute. `query` must name everything the drawing
    depends on (the filters, and any choices that differ from person to person)."""
    if form.errors:
        return render_to_string("oversight/includes/filter_form.html", {"form": form})
    key = cache_key(f"{page}-filters", query)
    html = cache.get(key)
    if html is None:
        html = render_to_string("oversight/includes/filter_form.html", {"form": form})
        cache.set(key, html, FILTER_FORM_CACHE_SECONDS)
    return mark_safe(html)  # noqa: S308  # nosec B308 B703 - our own rendered template
