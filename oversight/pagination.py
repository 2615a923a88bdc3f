"""Keyset ("seek") pagination: Previous/Next pages without OFFSET or COUNT(*).

OFFSET reads and throws away every row before the page, so deep pages of a 200k-row
register or a 2M-row trail get slower the deeper they are; a keyset page starts at the
last row shown (`WHERE (end_date, id) > (…)`) and costs the same at any depth.
"""

import base64
import binascii
import datetime
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet


@dataclass(frozen=True)
class SortKey:
    """One column of the ordering: its name (a field or annotation), and how to read a
    cursor's value back."""

    name: str
    parse: Callable[[Any], Any] = lambda value: value


def parse_date(value) -> datetime.date:
    return datetime.date.fromisoformat(value)


@dataclass(frozen=True)
class KeysetPage:
    rows: list
    next_cursor: str | None
    previous_cursor: str | None

    @property
    def has_other_pages(self) -> bool:
        return bool(self.next_cursor or self.previous_cursor)


class BadCursor(ValueError):
    pass


def _encode(values: list) -> str:
    raw = json.dumps(
        [v.isoformat() if isinstance(v, datetime.date) else v for v in values],
        separators=(",", ":"),
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, keys: list[SortKey]) -> list:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(keys):
            raise BadCursor(cursor)
        return [key.parse(value) for key, value in zip(keys, values, strict=True)]
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise BadCursor(cursor) from exc


def _after(keys: list[SortKey], values: list, *, descending: bool) -> Q:
    """Rows strictly after `values` in the ordering: (k1 > v1) or (k1 = v1 and k2 > v2) …"""
    lookup = "lt" if descending else "gt"
    condition = Q(pk__in=[])
    for depth, key in enumerate(keys):
        equal = {k.name: v for k, v in zip(keys[:depth], values[:depth], strict=True)}
        condition |= Q(**equal, **{f"{key.name}__{lookup}": values[depth]})
    return condition


def keyset_page(
    queryset: QuerySet,
    *,
    keys: list[SortKey],
    descending: bool = False,
    after: str | None = None,
    before: str | None = None,
    page_size: int = 50,
) -> KeysetPage:
    """One page of `queryset` ordered by `keys` (all ascending or all descending).

    `after` continues forwards from a page's last row; `before` goes back from a page's
    first row. One query per page: page_size + 1 rows tells whether there is more.
    """
    sign = "-" if descending else ""
    forwards = [f"{sign}{key.name}" for key in keys]
    backwards = [f"{'' if descending else '-'}{key.name}" for key in keys]

    def cursor_of(row) -> str:
        return _encode([getattr(row, key.name) for key in keys])

    if before:
        values = _decode(before, keys)
        qs = queryset.filter(_after(keys, values, descending=not descending)).order_by(*backwards)
        rows = list(qs[: page_size + 1])
        more_before = len(rows) > page_size
        rows = list(reversed(rows[:page_size]))
        return KeysetPage(
            rows=rows,
            next_cursor=cursor_of(rows[-1]) if rows else None,
            previous_cursor=cursor_of(rows[0]) if rows and more_before else None,
        )
    qs = queryset.order_by(*forwards)
    if after:
        qs = qs.filter(_after(keys, _decode(after, keys), descending=descending))
    rows = list(qs[: page_size + 1])
    more_after = len(rows) > page_size
    rows = rows[:page_size]
    return KeysetPage(
        rows=rows,
        next_cursor=cursor_of(rows[-1]) if rows and more_after else None,
        previous_cursor=cursor_of(rows[0]) if rows and after else None,
    )
