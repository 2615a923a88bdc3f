from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring"

    def ready(self):
        # Celery's signals: the request id travels with each task, and each beat task's run
        # is timed and kept for /metrics.
        from . import request_context, task_runs

        request_context.connect_celery_signals()
        task_runs.connect_celery_signals()
