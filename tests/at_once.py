"""Running calls at the same moment, each in its own thread and database connection: how
the tests show that row locks let exactly one of two racing requests or sweeps through."""

import threading

from django.db import connection


def run_at_once(*calls, timeout: float = 60) -> list[tuple[str, object]]:
    """Start every call together (a barrier releases them at once) and wait for them.

    Returns, in the calls' order, ("returned", value) or ("raised", exception); a call still
    running after `timeout` seconds is ("running", None). Each thread closes its own
    database connection when done.
    """
    barrier = threading.Barrier(len(calls))
    outcomes: list[tuple[str, object]] = [("running", None)] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            outcomes[index] = ("returned", call())
        except Exception as exc:  # noqa: BLE001 - handed back to the test
            outcomes[index] = ("raised", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return outcomes


def returned(outcomes: list[tuple[str, object]]) -> list:
    """The values the calls returned; fails the test if any raised or hung."""
    failed = [outcome for outcome in outcomes if outcome[0] != "returned"]
    assert failed == [], failed
    return [value for _, value in outcomes]
