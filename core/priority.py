"""Background work runs at a lower CPU priority than the web's requests.

The Celery worker (every sweep, the outbox, the sequencer's backstop, retention) serves no
one who is waiting on a page, so when it shares cores with gunicorn the kernel should run a
request first. `background_priority_lower` raises the calling process's nice value to
`SNS_WORKER_NICE` (never lowers it: a worker started under `nice -n 15` keeps 15); the Celery
worker calls it as it starts (`portal/celery.py`), before it forks its pool, whose processes
and threads inherit it.

It orders processes within one scheduling group only: the PostgreSQL backends that serve a
sweep run in the database server's processes at the server's priority, and under systemd or
in containers each unit or container is weighted by its cgroup (`CPUWeight=`), not by nice.
"""

import logging
import os

from django.conf import settings

logger = logging.getLogger(__name__)


def background_priority_lower(nice: int | None = None) -> int:
    """Raise this process's nice value to `nice` (default `SNS_WORKER_NICE`) if it is lower,
    and return the nice value it now has. Threads started afterwards inherit it."""
    target = settings.SNS_WORKER_NICE if nice is None else nice
    current = os.getpriority(os.PRIO_PROCESS, 0)
    if target > current:
        os.setpriority(os.PRIO_PROCESS, 0, target)
        logger.info("background work runs at nice %s (was %s)", target, current)
    return os.getpriority(os.PRIO_PROCESS, 0)
