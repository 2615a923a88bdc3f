"""Timed work on access grants. Thin: each task calls one sweep service, which is idempotent
(a rerun or an overlapping run sends nothing twice)."""

from celery import shared_task

from access_requests.services import grant_expiry, grant_safe_use


@shared_task(name="access_requests.grant_expiry_notice_sweep")
def grant_expiry_notice_sweep() -> dict:
    result = grant_expiry.grant_expiry_notice_sweep()
    return {"sent": result.done, "failed": result.failed}


@shared_task(name="access_requests.grant_expiry_sweep")
def grant_expiry_sweep() -> dict:
    result = grant_expiry.grant_expiry_sweep()
    return {"expired": result.done, "failed": result.failed}


@shared_task(name="access_requests.grant_safe_use_sweep")
def grant_safe_use_sweep() -> dict:
    result = grant_safe_use.grant_safe_use_sweep()
    return {"sent": result.done, "failed": result.failed}
