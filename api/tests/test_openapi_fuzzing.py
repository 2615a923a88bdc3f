"""The read API fuzzed from its own OpenAPI document with schemathesis: for every operation,
generated queries (valid and invalid, derandomised and bounded, so every run is the same and
quick) never cause a server error, and every answer matches the document: its status, its
content type, its headers and its body's schema."""

import datetime

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings as hypothesis_settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from access_requests.tests.factories import BusinessCaseFactory
from api.models import Scope
from audit.services import record
from oversight.tests.factories import grant_held
from people.tests.factories import BusinessUnitFactory

from .factories import token_with

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())

CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Not negative_data_rejection: its invalid requests include ones without the Authorization
# header, which the test always sends. Invalid queries are still generated and sent (every
# answer must be one the document names, never a 500).


@pytest.fixture
def secret(settings):
    settings.SNS_API_RATE_PER_MINUTE = 1_000_000
    unit = BusinessUnitFactory()
    for n in range(3):
        grant_held(
            paying_business_unit=unit,
            end=datetime.date.today() + datetime.timedelta(days=n + 1),
        )
    BusinessCaseFactory(submitted=True)
    record(actor=None, action="test.fuzzed", changes={"n": 1})
    return token_with(*Scope.values)[1]


@pytest.fixture(autouse=True)
def _wsgi_keeps_the_test_transactions_connection():
    """The WSGI handler closes old connections at the end of each request, which would close
    the test's own (its data lives in the test's transaction); Django's test client stops
    that the same way while it makes a request."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@hypothesis_settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_its_document_says(case, secret):
    case.call_and_validate(headers={"Authorization": f"Bearer {secret}"}, checks=CHECKS)
