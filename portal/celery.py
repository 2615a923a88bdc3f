"""The Celery app. Tasks live in each app's tasks.py; the beat schedule is in settings."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect(weak=False, dispatch_uid="sns-worker-priority")
def _background_priority(**_kwargs) -> None:
    """The worker, and the pool it is about to fork, yield the CPU to the web's requests."""
    from core.priority import background_priority_lower

    background_priority_lower()


@app.task(name="portal.ping")
def ping(value: str = "pong") -> str:
    """Round-trip probe used by the health check tests and operators."""
    return value
