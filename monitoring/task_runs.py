"""Each run of a task in the beat schedule is timed and kept (`TaskRun`), so /metrics can
say when every sweep last ran, how long it took and how much it handled."""

import logging
import time

from celery import signals
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from .models import TaskRun

logger = logging.getLogger(__name__)

_started: dict[str, tuple[float, object]] = {}


def scheduled_task_names() -> set[str]:
    return {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}


def items_of(result) -> int | None:
    """A sweep returns a count, or a dict of counts; what it handled is their sum, less
    what failed."""
    if isinstance(result, bool):
        return None
    if isinstance(result, int):
        return result
    if isinstance(result, dict):
        counts = {k: v for k, v in result.items() if isinstance(v, int) and not isinstance(v, bool)}
        if counts:
            return sum(v for k, v in counts.items() if k != "failed")
    return None


def task_run_record(
    *, task: str, started_at, finished_at, duration_seconds: float, items, succeeded: bool
) -> None:
    """Keep one task's latest run. Operational bookkeeping, not a state change of the
    service, so it writes no audit event."""
    values = {
        "started_at": started_at,
        "finished_at": finished_at,
        "duration_seconds": duration_seconds,
        "items": items,
        "succeeded": succeeded,
    }
    if TaskRun.objects.filter(task=task).update(**values, runs=F("runs") + 1):
        return
    try:
        with transaction.atomic():
            TaskRun.objects.create(task=task, runs=1, **values)
    except IntegrityError:
        TaskRun.objects.filter(task=task).update(**values, runs=F("runs") + 1)


def _on_start(task_id=None, task=None, **kwargs):
    if task is not None and task.name in scheduled_task_names():
        _started[task_id] = (time.perf_counter(), timezone.now())


def _on_end(task_id=None, task=None, retval=None, state=None, **kwargs):
    started = _started.pop(task_id, None)
    if started is None:
        return
    perf, started_at = started
    try:
        task_run_record(
            task=task.name,
            started_at=started_at,
            finished_at=timezone.now(),
            duration_seconds=time.perf_counter() - perf,
            items=items_of(retval) if state == "SUCCESS" else None,
            succeeded=state == "SUCCESS",
        )
    except Exception:  # the run's own outcome stands whatever happens to its record
        logger.exception("Could not record the run of %s", task.name)


def connect_celery_signals() -> None:
    signals.task_prerun.connect(_on_start, weak=False, dispatch_uid="sns-task-runs")
    signals.task_postrun.connect(_on_end, weak=False, dispatch_uid="sns-task-runs")
