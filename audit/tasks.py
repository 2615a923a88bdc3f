from celery import shared_task

from .checkpoints import audit_checkpoint_write
from .sequencer import audit_sequence


@shared_task(name="audit.checkpoint_write", ignore_result=True)
def checkpoint_write() -> None:
    # Beat runs it every AUDIT_CHECKPOINT_INTERVAL_SECONDS: a trail cut short within one
    # interval of its last checkpoint is the most an owner of the database can hide.
    audit_checkpoint_write()


@shared_task(name="audit.sequence_pending", ignore_result=True)
def sequence_pending() -> None:
    # Beat runs it every AUDIT_SEQUENCE_INTERVAL_SECONDS: the backstop for events whose
    # writer died between its commit and chaining them (each writer tries it on commit).
    audit_sequence(max_batches=100)
