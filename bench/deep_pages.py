"""Finding a deep page to measure: the row a fraction of the way down a list, reached by
the page number or the keyset cursor that the first page's rel="next" link uses."""

import base64
import datetime
import html
import json
import re
from urllib.parse import parse_qsl, urlencode, urlsplit

from django.apps import apps

from bench.config import Deep, Page
from bench.fetching import http_get, with_query

NEXT_LINK = re.compile(r"<a\b[^>]*>", re.S)


def next_href(body: str) -> str | None:
    for tag in NEXT_LINK.findall(body):
        if re.search(r'\brel="next"', tag):
            match = re.search(r'\bhref="([^"]*)"', tag)
            if match:
                return html.unescape(match.group(1))
    return None


def decode_cursor(value: str) -> list | None:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        decoded = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return decoded if isinstance(decoded, list) and decoded else None


def encode_like(values: list, template: str) -> str:
    raw = json.dumps(values, separators=(",", ":"))
    encoded = base64.urlsafe_b64encode(raw.encode()).decode()
    return encoded if template.endswith("=") else encoded.rstrip("=")


def as_cursor_value(value):
    return value.isoformat() if isinstance(value, datetime.date | datetime.datetime) else value


def deep_cursor(deep: Deep, cursor: list) -> list | None:
    """The sort values of the row `deep.fraction` of the way down, found by matching the
    first page's cursor (the last row shown) to a row and its fields."""
    model = apps.get_model(deep.model)
    queryset = model.objects.all()
    if deep.current_only:
        queryset = queryset.filter(status__in=["awaiting", "active"])
    row = model.objects.filter(pk=cursor[-1]).first() if isinstance(cursor[-1], int) else None
    if row is None:
        return None
    fields = []
    for value in cursor[:-1]:
        match = next(
            (
                f.attname
                for f in model._meta.concrete_fields
                if not f.primary_key and as_cursor_value(getattr(row, f.attname)) == value
            ),
            None,
        )
        if match is None:
            return None
        fields.append(match)
    fields.append("pk")
    total = queryset.count()
    # The first page's last row is near the top of the ordering: which way does it run?
    before = queryset.filter(pk__lt=row.pk).count() if not fields[:-1] else None
    if before is None:
        first = fields[0]
        before = queryset.filter(**{f"{first}__lt": getattr(row, first)}).count()
    descending = before > total / 2
    order = [f"-{f}" if descending else f for f in fields]
    position = int(total * deep.fraction)
    target = queryset.order_by(*order)[position : position + 1].first()
    if target is None:
        return None
    return [as_cursor_value(getattr(target, f if f != "pk" else "pk")) for f in fields]


def deep_path(page: Page, first_path: str, base_url: str, cookie: str) -> tuple[str, str]:
    """(path of a deep page, how it was found)."""
    status, body = http_get(base_url, first_path, cookie)
    href = next_href(body.decode("utf-8", "replace")) if status == 200 else None
    if not href:
        return "", "no rel=next link on the first page"
    first_query = dict(parse_qsl(urlsplit(first_path).query))
    next_parts = urlsplit(href)
    next_query = dict(parse_qsl(next_parts.query))
    changed = [k for k, v in next_query.items() if first_query.get(k) != v]
    path = urlsplit(first_path).path
    for name in changed:
        value = next_query[name]
        if value.isdigit():
            numbers = [int(n) for n in re.findall(rf"[?&;]{re.escape(name)}=(\d+)", body.decode())]
            last = max(numbers, default=0)
            deep = max(2, round(last * page.deep.fraction)) if last > 2 else page.deep.page
            query = {**next_query, name: str(deep)}
            return with_query(path, urlencode(query)), f"page number {deep} of {last or '?'}"
        cursor = decode_cursor(value)
        if cursor is not None:
            values = deep_cursor(page.deep, cursor)
            if values is not None:
                query = {**next_query, name: encode_like(values, value)}
                where = f"keyset cursor at {int(page.deep.fraction * 100)}% of the rows"
                return with_query(path, urlencode(query)), where
    # Fallback: walk Next links (shallower, but a real later page).
    walked = 0
    current = href
    for _ in range(40):
        status, body = http_get(
            base_url, urlsplit(current).path + "?" + urlsplit(current).query, cookie
        )
        following = next_href(body.decode("utf-8", "replace")) if status == 200 else None
        if not following:
            break
        current, walked = following, walked + 1
    parts = urlsplit(current)
    return with_query(parts.path or path, parts.query), f"followed Next {walked + 1} times"
