"""Fixtures shared by the security, resilience and accessibility suites."""

from pathlib import Path

import pytest
from django.conf import settings as django_settings

PROBE_TEMPLATES = Path(__file__).resolve().parent / "security" / "templates"


@pytest.fixture
def probe_templates(settings):
    """A test-only email template, `scanner_probe` (context: name, links), beside the portal's."""
    templates = [dict(t) for t in django_settings.TEMPLATES]
    templates[0]["DIRS"] = [*templates[0]["DIRS"], PROBE_TEMPLATES]
    settings.TEMPLATES = templates


class Broker:
    """Points the Celery app at a closed port (Redis "stopped") and back."""

    CLOSED = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    def __init__(self, app, settings):
        self.app = app
        self.settings = settings
        self.saved_setting = settings.CELERY_BROKER_URL
        self.saved = (app.conf.broker_url, app.conf.broker_write_url, app.conf.task_always_eager)

    def _point_at(self, url):
        self.app.conf.broker_url = url
        self.app.conf.broker_write_url = url
        # Connections are pooled, each pool made for the broker URL of its day: drop them.
        # Celery has no public call that re-points a running app's pools (`app.close()`
        # also unregisters the app), so its two pool attributes are reset here, in one place.
        self.app._pool = None
        self.app.amqp._producer_pool = None

    def stop(self):
        self.app.conf.task_always_eager = False  # publish for real, as production does
        self._point_at(self.CLOSED)
        self.settings.CELERY_BROKER_URL = self.CLOSED  # what /healthz checks

    def start(self):
        self._point_at(self.saved[0])
        self.app.conf.broker_write_url = self.saved[1]
        self.app.conf.task_always_eager = self.saved[2]
        self.settings.CELERY_BROKER_URL = self.saved_setting


@pytest.fixture
def broker(settings):
    from portal.celery import app

    control = Broker(app, settings)
    try:
        yield control
    finally:
        control.start()
