#!/usr/bin/env python
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 - loads the settings, which check the environment
    except ImproperlyConfigured as error:
        # Say what to set, not a traceback: the usual cause is a command run by hand on the
        # demo (make run sets DEBUG=1 for its own processes, not for this shell).
        sys.exit(
            f"manage.py: {error}.\n"
            "On the demo that `make run` starts, run commands with DEBUG=1 "
            "(or use `make import-staff CSV=file.csv`)."
        )

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
