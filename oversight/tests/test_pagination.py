"""The keyset cursor codec: any text handed to it is a cursor the page wrote, or refused."""

import base64
import datetime
import json

import pytest
from django.urls import reverse
from hypothesis import example, given, settings as hypothesis_settings, strategies as st

from oversight.pagination import (
    BIGINT_MAX,
    BadCursor,
    SortKey,
    cursor_decode,
    parse_date,
    parse_id,
    parse_text,
)
from oversight.selectors.register import REGISTER_KEYS
from oversight.views import AUDIT_KEYS

KEY_SETS = [keys for keys, _ in REGISTER_KEYS.values()] + [AUDIT_KEYS]


def encoded(raw: bytes | str) -> str:
    raw = raw.encode() if isinstance(raw, str) else raw
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def well_formed(keys: list[SortKey], values: list) -> bool:
    """What the page writes: a date, a text key or an id, each of the right type and range."""
    checks = {parse_date: datetime.date, parse_text: str, parse_id: int}
    return all(type(value) is checks[key.parse] for key, value in zip(keys, values, strict=True))


def assert_decoded_or_refused(cursor: str, keys: list[SortKey]) -> None:
    try:
        values = cursor_decode(cursor, keys)
    except BadCursor:
        return
    assert well_formed(keys, values), values
    for key, value in zip(keys, values, strict=True):
        if key.parse is parse_id:
            assert -(2**63) <= value <= BIGINT_MAX
        if key.parse is parse_text:
            assert "\x00" not in value
            value.encode()


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)


@hypothesis_settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(raw=st.binary(max_size=200), keys=st.sampled_from(KEY_SETS))
@example(raw=b"\xff\xfe[\x001\x00]\x00", keys=AUDIT_KEYS)
def test_any_bytes_decode_to_a_cursor_or_are_refused(raw, keys):
    assert_decoded_or_refused(encoded(raw), keys)


@hypothesis_settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(text=st.text(max_size=300), keys=st.sampled_from(KEY_SETS))
def test_any_text_as_a_cursor_decodes_or_is_refused(text, keys):
    assert_decoded_or_refused(text, keys)


@hypothesis_settings(max_examples=500, deadline=None, database=None, derandomize=True)
@given(value=json_values, keys=st.sampled_from(KEY_SETS))
@example(value=[1e309], keys=AUDIT_KEYS)
@example(value=[10**23], keys=AUDIT_KEYS)
@example(value=["2026-12-10", 1e309], keys=REGISTER_KEYS["end_date"][0])
@example(value=["a\x00b", 1], keys=REGISTER_KEYS["holder"][0])
@example(value=["\ud800", 1], keys=REGISTER_KEYS["holder"][0])
@example(value=[True], keys=AUDIT_KEYS)
def test_any_json_decodes_to_a_cursor_or_is_refused(value, keys):
    assert_decoded_or_refused(encoded(json.dumps(value)), keys)


@pytest.mark.parametrize(
    "raw",
    [
        "[1e309]",
        "[-1e309]",
        "[99999999999999999999999]",
        "[NaN]",
        "[Infinity]",
        "[1.5]",
        "[true]",
        '["12"]',
        "[" * 100_000 + "]" * 100_000,
        "[" + "9" * 5000 + "]",
    ],
    ids=lambda raw: raw[:30],
)
def test_malformed_numbers_are_refused(raw):
    with pytest.raises(BadCursor):
        cursor_decode(encoded(raw), AUDIT_KEYS)


def test_a_cursor_the_page_wrote_round_trips():
    keys = REGISTER_KEYS["end_date"][0]
    assert cursor_decode(encoded('["2026-12-10",42]'), keys) == [datetime.date(2026, 12, 10), 42]


# --- the pages answer 404, never 500 ---------------------------------------------------------

REGISTER_CURSORS = [
    "[1e309]",
    "[99999999999999999999999]",
    '["2026-12-10",1e309]',
    '["2026-12-10",99999999999999999999999]',
    '["2026-12-10",9223372036854775808]',
    '["2026-02-30",1]',
    '["99999-01-01",1]',
    '["2026-12-10","1"]',
    '["2026-12-10",null]',
    "[null,1]",
    '{"a":1}',
    "[" * 50_000,
]


@pytest.mark.django_db
@pytest.mark.parametrize("direction", ["after", "before"])
@pytest.mark.parametrize("raw", REGISTER_CURSORS, ids=lambda raw: raw[:30])
def test_a_malformed_register_cursor_is_not_found(client, auditor, direction, raw):
    response = client.get(reverse("oversight:register"), {direction: encoded(raw)})
    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("direction", ["after", "before"])
@pytest.mark.parametrize(
    "raw",
    ['["a\\u0000b",1]', '["\\ud800",1]', '["x",1e309]', '["' + "x" * 600 + '",1]'],
    ids=lambda raw: raw[:30],
)
def test_a_malformed_holder_cursor_is_not_found(client, auditor, direction, raw):
    response = client.get(
        reverse("oversight:register"), {"sort": "holder", direction: encoded(raw)}
    )
    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("direction", ["after", "before"])
@pytest.mark.parametrize(
    "raw",
    [
        "[1e309]",
        "[-1e309]",
        "[99999999999999999999999]",
        "[9223372036854775808]",
        "[-9223372036854775809]",
        '["2026-12-10"]',
        "[1.0]",
    ],
)
def test_a_malformed_audit_trail_cursor_is_not_found(client, auditor, direction, raw):
    response = client.get(reverse("oversight:audit-trail"), {direction: encoded(raw)})
    assert response.status_code == 404


@pytest.mark.django_db
def test_the_largest_id_is_a_cursor_past_every_row(client, auditor):
    response = client.get(reverse("oversight:audit-trail"), {"before": encoded(f"[{BIGINT_MAX}]")})
    assert response.status_code == 200
