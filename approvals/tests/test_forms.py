import datetime

import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st

from access_requests.models import BusinessCase
from approvals.forms import DecisionForm

CASE = BusinessCase(start_date=datetime.date(2027, 1, 4), end_date=datetime.date(2027, 6, 30))

text = st.text(max_size=2100)
day_part = st.one_of(st.just(""), st.integers(min_value=-5, max_value=3000).map(str), text)


@hypothesis_settings(max_examples=200, deadline=None)
@given(
    decision=st.one_of(st.sampled_from(["approve", "reject", ""]), text),
    reason=text,
    day=day_part,
    month=day_part,
    year=day_part,
)
def test_the_decision_form_never_crashes_and_keeps_its_rules(decision, reason, day, month, year):
    form = DecisionForm(
        {
            "decision": decision,
            "reason": reason,
            "end_date_0": day,
            "end_date_1": month,
            "end_date_2": year,
        },
        case=CASE,
    )
    if form.is_valid():
        data = form.cleaned_data
        assert data["decision"] in {"approve", "reject"}
        assert len(data["reason"]) <= 2000
        if data["decision"] == "reject":
            assert data["reason"].strip()
        if data["decision"] == "approve" and data["end_date"] is not None:
            assert CASE.start_date <= data["end_date"] <= CASE.end_date
    else:
        assert form.errors


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "Select approve, reject or ask for more information"),
        ({"decision": "reject"}, "Enter the reason for rejecting the case"),
        ({"decision": "approve", "reason": "x" * 2001}, "Reason must be 2000 characters or fewer"),
        (
            {"decision": "approve", "end_date_0": "1", "end_date_1": "1", "end_date_2": "2027"},
            "End date must be on or after the start date, 4 January 2027",
        ),
    ],
)
def test_the_decision_form_says_what_to_fix_in_govuk_words(data, error):
    form = DecisionForm(data, case=CASE)
    assert not form.is_valid()
    assert error in str(form.errors)
