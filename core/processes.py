"""Pools of processes that run the portal's code, started safely from a process with threads.

A forked process copies every lock of its parent as it was at the fork: one that another
thread held (a live server's, a browser driver's connection, logging's, OpenSSL's) stays held
for ever in the copy, and the process hangs at 0 CPU on its first use. These processes start
from a fresh interpreter (multiprocessing's "spawn") instead and set Django up with the
caller's settings as the caller holds them, handed over, not read again from the settings
module and the environment (which could decide differently in another process: a test run's
overrides and database, the checks that refuse demo keys). Only what setting the apps up and
reading one database needs is handed over (`HANDED_OVER`): the one database they read keeps the
caller's connection settings (a test database, a replica), and no other secret (the signing
key, the chain key, mail and Notify credentials, another database's password) reaches them; a
task that needs one takes it as an argument.

This module imports no models: a fresh process imports it before Django is set up.
"""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from django.conf import settings
from django.db import connections

# What a fresh process needs to load the apps and their models and read with the ORM.
HANDED_OVER = ("INSTALLED_APPS", "AUTH_USER_MODEL", "DEFAULT_AUTO_FIELD", "TIME_ZONE", "USE_TZ")


def _settings_as_held(using: str) -> dict:
    """The settings in `HANDED_OVER`, as this process holds them, and the database `using` as
    this process connects to it (as `using` and as the default, which Django requires)."""
    held = {name: getattr(settings, name) for name in HANDED_OVER}
    database = connections[using].settings_dict
    held["DATABASES"] = {"default": database, using: database}
    return held


def _django_setup(held: dict, using: str) -> None:
    import django

    if not settings.configured:
        settings.configure(**held)
        django.setup()
        return
    # A fresh process imports the caller's main module again: one that sets Django up when
    # imported (a script run as `python -m`, like the benchmark's) has set it up here from
    # the environment this process inherited. The held settings go on top, and the database
    # read takes the caller's connection settings before it is used.
    for name, value in held.items():
        if name not in ("DATABASES", "INSTALLED_APPS"):
            setattr(settings, name, value)
    connection = connections[using]
    connection.close()
    connection.settings_dict.update(held["DATABASES"][using])


def django_process_pool(*, workers: int, using: str) -> ProcessPoolExecutor:
    """`workers` fresh processes with Django set up as in this process, reading the database
    `using` as this process does. Use it as a context manager (it waits for its processes on
    exit)."""
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_django_setup,
        initargs=(_settings_as_held(using), using),
    )
