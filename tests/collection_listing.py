"""A pytest plugin (`-p tests.collection_listing`) for the checks of how the suite is dealt out
(`tests/test_scheduling.py`): once the tests are collected and sorted, it prints a line for
each, `collected<TAB>node id<TAB>xdist group` ("-" for none), in the order the run deals them
out, so one collection in a subprocess answers both the order and the grouping."""

import pytest


def pytest_collection_finish(session: pytest.Session) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    for item in session.items:
        marker = item.get_closest_marker("xdist_group")
        if marker is None:
            group = "-"
        else:
            group = marker.args[0] if marker.args else marker.kwargs.get("name", "default")
        reporter.write_line(f"collected\t{item.nodeid}\t{group}")
