from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"

    def ready(self):
        from . import receivers  # noqa: F401  (closes a withdrawn case's approval requests)
