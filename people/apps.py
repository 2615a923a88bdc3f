from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "people"
    verbose_name = "People and organisation"

    def ready(self):
        from . import receivers  # noqa: F401  (connects the audit and role receivers)
