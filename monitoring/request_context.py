"""A request id for every request, carried into the Celery tasks it starts, and added to
every log line with the signed-in user's id."""

import contextvars
import logging
import re
import time
import uuid

from celery import signals

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)
user_id_var: contextvars.ContextVar[int | None] = contextvars.ContextVar("user_id", default=None)

HEADER = "X-Request-ID"
TASK_HEADER = "sns_request_id"
# An id from a proxy is kept only if it is short and plain, so a log line cannot be forged
# or swollen through it.
ACCEPTED_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

request_logger = logging.getLogger("portal.requests")


class RequestContextMiddleware:
    """Gives the request its id, times it, records its latency for /metrics and logs one
    line: view, method, status and duration, never the path (a decision or password link's
    path holds its token)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from .metrics import request_observe

        offered = request.headers.get(HEADER, "")
        request_id = offered if ACCEPTED_ID.match(offered) else uuid.uuid4().hex
        request.request_id = request_id
        id_token = request_id_var.set(request_id)
        user_token = user_id_var.set(None)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                user_id_var.set(user.pk)
            duration = time.perf_counter() - started
            match = getattr(request, "resolver_match", None)
            view = match.view_name if match is not None else "unmatched"
            request_observe(
                view=view, method=request.method, status=response.status_code, seconds=duration
            )
            request_logger.info(
                "%s %s %s",
                request.method,
                view,
                response.status_code,
                extra={
                    "view": view,
                    "method": request.method,
                    "status": response.status_code,
                    "duration_ms": round(duration * 1000, 1),
                },
            )
            response[HEADER] = request_id
            return response
        finally:
            request_id_var.reset(id_token)
            user_id_var.reset(user_token)


class RequestContextFilter(logging.Filter):
    """Adds `request_id` and `user_id` to every record (None outside a request or task)."""

    def filter(self, record):
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        if not hasattr(record, "user_id"):
            record.user_id = user_id_var.get()
        return True


def _on_publish(headers=None, **kwargs):
    request_id = request_id_var.get()
    if request_id and headers is not None:
        headers[TASK_HEADER] = request_id


def _on_task_start(task=None, **kwargs):
    request = getattr(task, "request", None)
    if request is None or request.is_eager:
        return  # run in the caller's thread: the caller's request id already applies
    request_id = request.get(TASK_HEADER)
    request_id_var.set(request_id or f"task-{request.id or uuid.uuid4().hex}")


def _on_task_end(task=None, **kwargs):
    request = getattr(task, "request", None)
    if request is not None and not request.is_eager:
        request_id_var.set(None)


def connect_celery_signals() -> None:
    signals.before_task_publish.connect(_on_publish, weak=False, dispatch_uid="sns-request-id")
    signals.task_prerun.connect(_on_task_start, weak=False, dispatch_uid="sns-request-id")
    signals.task_postrun.connect(_on_task_end, weak=False, dispatch_uid="sns-request-id")
