"""/metrics reads the Celery queue from the broker, and still answers when it is down."""

import pytest
from django.urls import reverse

from monitoring.tests.test_metrics import TOKEN, value


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = []


def scrape(client):
    return client.get(reverse("metrics"), HTTP_AUTHORIZATION=f"Bearer {TOKEN}")


@pytest.mark.django_db
def test_tasks_waiting_for_a_worker_are_counted(client, metrics_on):
    from portal.celery import app

    app.control.purge()
    eager, app.conf.task_always_eager = app.conf.task_always_eager, False
    try:
        for _ in range(3):
            app.send_task("portal.ping")  # no worker runs in this test: they wait
        text = scrape(client).content.decode()
        assert value(text, "sns_broker_up") == 1
        assert value(text, "sns_celery_queue_length", queue="celery") == 3
    finally:
        app.conf.task_always_eager = eager
        app.control.purge()


@pytest.mark.django_db
def test_with_the_broker_stopped_the_scrape_says_so(client, metrics_on, broker):
    broker.stop()
    response = scrape(client)
    assert response.status_code == 200
    text = response.content.decode()
    assert value(text, "sns_broker_up") == 0
    assert value(text, "sns_outbox_pending") == 0
