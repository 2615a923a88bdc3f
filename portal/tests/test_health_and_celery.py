import pytest
from django.urls import reverse

from portal.celery import ping


@pytest.mark.django_db
def test_health_check_reports_database_and_broker(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_health_check_fails_when_the_broker_is_unreachable(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["broker"] == "unavailable"
    assert response.json()["database"] == "ok"


@pytest.mark.django_db
def test_health_check_fails_when_the_database_is_down(client, monkeypatch):
    from django.db import connection

    def refuse(*args, **kwargs):
        raise connection.Database.OperationalError("connection refused")

    # Django's connection is made to refuse (a third-party object, not the portal's code):
    # the test's database must stay up for the test itself, and the check uses it.
    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["database"] == "unavailable"


@pytest.mark.worker
def test_a_task_goes_through_redis_to_a_real_worker_and_back(celery_worker_process):
    result = ping.delay("round trip")
    assert result.get(timeout=60) == "round trip"
