from celery import shared_task

from .checkpoints import audit_checkpoint_write


@shared_task(name="audit.checkpoint_write", ignore_result=True)
def checkpoint_write() -> None:
    # Beat runs it every AUDIT_CHECKPOINT_INTERVAL_SECONDS: a trail cut short within one
    # interval of its last checkpoint is the most an owner of the database can hide.
    audit_checkpoint_write()
