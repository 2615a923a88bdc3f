"""The Prometheus metrics at /metrics: request latency by view (counted in each process),
and the service's state (outbox, failed mail, open cases, the beat tasks' last runs, the
Celery queue, the database replica's lag), read from the database and the broker when
scraped.

Under gunicorn each worker process counts its own requests: set `PROMETHEUS_MULTIPROC_DIR`
to an empty folder shared by the workers (prometheus_client's multiprocess mode) so a scrape
sums them all.
"""

import datetime
import os

from django.db.models import Count, Min, Q
from django.utils import timezone
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from access_requests.models import BusinessCase
from core.replica import replica_status
from notifications.models import OutboundEmail

from .models import TaskRun

_requests_registry = CollectorRegistry()
REQUEST_SECONDS = Histogram(
    "sns_http_request_duration_seconds",
    "Time to answer a request, by view, method and status class.",
    ["view", "method", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=_requests_registry,
)

# Ages of cases awaiting a decision, in days: the upper bound of each band.
QUEUE_TIMEOUT_SECONDS = 2

CASE_AGE_BANDS = [(1, "0-1d"), (3, "1-3d"), (7, "3-7d"), (14, "7-14d"), (30, "14-30d")]


def request_observe(*, view: str, method: str, status: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(view=view, method=method, status=f"{status // 100}xx").observe(seconds)


class ServiceStateCollector:
    """Reads the service's state on each scrape: a handful of indexed aggregate queries."""

    def collect(self):
        now = timezone.now()
        yield from self._outbox(now)
        yield from self._open_cases(now)
        yield from self._task_runs()
        yield from self._queue()
        yield from self._replica()

    def _outbox(self, now):
        pending = Q(status=OutboundEmail.Status.PENDING)
        row = OutboundEmail.objects.aggregate(
            pending=Count("id", filter=pending),
            oldest=Min("created_at", filter=pending),
            failed=Count("id", filter=Q(status=OutboundEmail.Status.FAILED)),
        )
        yield GaugeMetricFamily(
            "sns_outbox_pending", "Emails written and not yet sent.", value=row["pending"]
        )
        oldest = (now - row["oldest"]).total_seconds() if row["oldest"] else 0.0
        yield GaugeMetricFamily(
            "sns_outbox_oldest_pending_age_seconds",
            "Age of the oldest email not yet sent (0 when none waits).",
            value=oldest,
        )
        yield GaugeMetricFamily(
            "sns_outbox_failed", "Emails given up after the maximum attempts.", value=row["failed"]
        )

    def _open_cases(self, now):
        aggregates = {}
        lower = None
        for days, label in CASE_AGE_BANDS:
            band = Q(submitted_at__gt=now - datetime.timedelta(days=days))
            if lower is not None:
                band &= Q(submitted_at__lte=now - datetime.timedelta(days=lower))
            aggregates[label] = Count("id", filter=band)
            lower = days
        aggregates[f"{lower}d+"] = Count(
            "id", filter=Q(submitted_at__lte=now - datetime.timedelta(days=lower))
        )
        counts = BusinessCase.objects.filter(status=BusinessCase.Status.SUBMITTED).aggregate(
            **aggregates
        )
        family = GaugeMetricFamily(
            "sns_open_cases", "Cases awaiting a decision, by days since sent.", labels=["age"]
        )
        for label, count in counts.items():
            family.add_metric([label], count)
        yield family

    def _task_runs(self):
        last_run = GaugeMetricFamily(
            "sns_task_last_run_timestamp_seconds",
            "When each beat task last finished (Unix time).",
            labels=["task"],
        )
        duration = GaugeMetricFamily(
            "sns_task_last_duration_seconds", "How long its last run took.", labels=["task"]
        )
        items = GaugeMetricFamily(
            "sns_task_last_items", "How many items its last run handled.", labels=["task"]
        )
        succeeded = GaugeMetricFamily(
            "sns_task_last_succeeded", "1 if its last run succeeded, else 0.", labels=["task"]
        )
        for run in TaskRun.objects.all():
            last_run.add_metric([run.task], run.finished_at.timestamp())
            duration.add_metric([run.task], run.duration_seconds)
            if run.items is not None:
                items.add_metric([run.task], run.items)
            succeeded.add_metric([run.task], 1 if run.succeeded else 0)
        yield from (last_run, duration, items, succeeded)

    def _queue(self):
        """Messages waiting in the Celery queue; `sns_broker_up` 0 when the broker does not
        answer (the scrape still succeeds)."""
        # The portal's own app, not Celery's "current" one: that is per thread, and another
        # app made current in this thread (by a library or a test) would be asked instead.
        from portal.celery import app

        queue = app.conf.task_default_queue
        try:
            with app.connection_for_read() as connection:
                connection.ensure_connection(max_retries=1, timeout=QUEUE_TIMEOUT_SECONDS)
                waiting = connection.default_channel.queue_declare(
                    queue=queue, passive=True
                ).message_count
        except Exception:  # any broker failure is reported as the broker being down
            yield GaugeMetricFamily("sns_broker_up", "1 if the broker answered.", value=0)
            return
        yield GaugeMetricFamily("sns_broker_up", "1 if the broker answered.", value=1)
        family = GaugeMetricFamily(
            "sns_celery_queue_length", "Tasks waiting for a worker.", labels=["queue"]
        )
        family.add_metric([queue], waiting)
        yield family

    def _replica(self):
        """The database replica's lag, measured now; only with a replica configured."""
        status = replica_status(fresh=True)
        if not status.configured:
            return
        yield GaugeMetricFamily(
            "sns_replica_up", "1 if the database replica answered.", value=int(status.answering)
        )
        if status.lag_seconds is not None:
            yield GaugeMetricFamily(
                "sns_replica_lag_seconds",
                "How far the database replica's replay is behind the primary.",
                value=status.lag_seconds,
            )


def render() -> bytes:
    """The whole exposition: this process's (or, in multiprocess mode, every process's)
    request latencies, then the service's state."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        requests = generate_latest(registry)
    else:
        requests = generate_latest(_requests_registry)
    return requests + generate_latest(ServiceStateCollector())
