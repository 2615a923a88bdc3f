import json
import logging

import pytest
from django.urls import reverse

from approvals.tests.factories import link_for, submitted_case
from people.tests.factories import UserFactory
from portal.logging_config import logging_config


def json_formatter():
    config = logging_config(log_format="json", level="INFO")
    spec = dict(config["formatters"]["console"])
    factory = spec.pop("()")
    module, _, name = factory.rpartition(".")
    cls = getattr(__import__(module, fromlist=[name]), name)
    return cls(**spec)


def request_lines(caplog):
    from monitoring.request_context import RequestContextFilter

    context = RequestContextFilter()
    formatter = json_formatter()
    lines = []
    for record in caplog.records:
        if record.name == "portal.requests":
            context.filter(record)
            lines.append(json.loads(formatter.format(record)))
    return lines


@pytest.mark.django_db
def test_every_answer_carries_a_request_id(client):
    first = client.get(reverse("healthz"))
    second = client.get(reverse("healthz"))
    assert len(first["X-Request-ID"]) == 32
    assert first["X-Request-ID"] != second["X-Request-ID"]


@pytest.mark.django_db
def test_a_proxys_plain_request_id_is_kept_and_a_crafted_one_replaced(client):
    kept = client.get(reverse("healthz"), HTTP_X_REQUEST_ID="lb-4f1c2a9e-0001")
    assert kept["X-Request-ID"] == "lb-4f1c2a9e-0001"
    crafted = client.get(reverse("healthz"), HTTP_X_REQUEST_ID='x" level=ERROR forged=1')
    assert crafted["X-Request-ID"] != 'x" level=ERROR forged=1'
    assert len(crafted["X-Request-ID"]) == 32


@pytest.mark.django_db
def test_each_request_is_logged_as_one_json_line_with_its_view_user_status_and_time(client, caplog):
    person = UserFactory()
    client.force_login(person)
    with caplog.at_level(logging.INFO, logger="portal.requests"):
        response = client.get(reverse("home"))
    [line] = request_lines(caplog)
    assert line["request_id"] == response["X-Request-ID"]
    assert line["user_id"] == person.pk
    assert line["view"] == "home"
    assert line["method"] == "GET"
    assert line["status"] == 200
    assert line["duration_ms"] > 0
    assert line["level"] == "INFO"
    assert line["logger"] == "portal.requests"


@pytest.mark.django_db
def test_a_decision_links_token_never_reaches_the_log(client, caplog):
    case = submitted_case()
    link = link_for(case.approval_requests.get())
    token = link.rstrip("/").rsplit("/", 1)[-1]
    with caplog.at_level(logging.INFO):
        assert client.get(link).status_code == 200
        assert client.get(link + "x/").status_code == 404
    config = logging_config(log_format="json", level="INFO")
    assert config["handlers"]["console"]["filters"] == ["request_context", "mask_token_paths"]
    lines = request_lines(caplog)
    assert [line["view"] for line in lines][0] == "approvals:decide"
    assert all(token not in json.dumps(line) for line in lines)


def test_an_unknown_log_format_is_refused():
    with pytest.raises(ValueError, match="LOG_FORMAT must be text or json"):
        logging_config(log_format="xml", level="INFO")
