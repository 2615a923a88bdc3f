"""What /metrics reads that no other table keeps: each scheduled task's last run."""

from django.db import models


class TaskRun(models.Model):
    """The last run of one task of the beat schedule, written by the worker that ran it."""

    task = models.CharField(max_length=200, unique=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    duration_seconds = models.FloatField()
    # What the run handled (the task's own count, or the sum of the counts it returned).
    items = models.IntegerField(null=True, blank=True)
    succeeded = models.BooleanField()
    runs = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["task"]

    def __str__(self):
        return f"{self.task} at {self.finished_at:%Y-%m-%d %H:%M:%S}"
