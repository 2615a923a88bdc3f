"""Background work yields the CPU to the web's requests (`core.priority`).

A nice value cannot be lowered again without privileges, so each case runs in a process of
its own; the real Celery worker's: access_requests/tests/test_grant_worker.py."""

import multiprocessing
import os
import threading

from core.priority import background_priority_lower


def _thread_nice(queue) -> None:
    queue.put(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))


def _lower_then_start_a_thread(nice_before: int, nice: int, queue) -> None:
    if nice_before:
        os.nice(nice_before)
    queue.put(background_priority_lower(nice))
    thread = threading.Thread(target=_thread_nice, args=(queue,))
    thread.start()
    thread.join()


def _in_a_child(nice_before: int, nice: int) -> tuple[int, int]:
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_lower_then_start_a_thread, args=(nice_before, nice, queue))
    child.start()
    result = queue.get(timeout=30), queue.get(timeout=30)
    child.join(timeout=30)
    return result


def test_background_work_runs_at_the_worker_nice_value_and_its_threads_too():
    web = os.getpriority(os.PRIO_PROCESS, 0)  # this test's process stands for the web
    assert _in_a_child(0, 10) == (max(web, 10), max(web, 10))


def test_a_worker_started_at_a_lower_priority_keeps_it():
    started_at = min(os.getpriority(os.PRIO_PROCESS, 0) + 15, 19)
    assert _in_a_child(15, 10) == (started_at, started_at)


def test_by_default_the_worker_nice_value_comes_from_the_setting(settings):
    settings.SNS_WORKER_NICE = 7
    web = os.getpriority(os.PRIO_PROCESS, 0)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=lambda: queue.put(background_priority_lower()))
    child.start()
    assert queue.get(timeout=30) == max(web, 7)
    child.join(timeout=30)
