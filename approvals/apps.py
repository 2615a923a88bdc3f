from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"

    def ready(self):
        # Registers the reminders' context completer with the outbox's renderer, so that a
        # sender that never imported the approvals services renders them whole.
        from . import emails  # noqa: F401
