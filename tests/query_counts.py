"""Query counts as a page costs on a connection that has served a request before.

A `PreparedQuery` is prepared once per connection (`core/prepared.py`): the first request
on a connection also asks whether each statement exists and `PREPARE`s it. Production's
connections live for minutes (`DB_CONN_MAX_AGE`), so those statements are paid once per
connection, not per page; and in the suite whether they fall inside a test's count depends on
which tests the worker's connection served first. So the counts below leave them out:
a page's count is the same whichever test runs first, and still grows with every query the
page itself adds.
"""

from contextlib import contextmanager

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

# What `PreparedQuery` sends the first time a connection runs a statement.
PREPARING = ("PREPARE ", "SELECT 1 FROM pg_prepared_statements WHERE name = ")


def page_queries(captured: list[dict]) -> list[str]:
    return [q["sql"] for q in captured if not q["sql"].startswith(PREPARING)]


@contextmanager
def assert_num_queries(num: int, exact: bool = True, connection=None, info=None, *, using=None):
    conn = connection or connections[using or "default"]
    with CaptureQueriesContext(conn) as context:
        yield context
    done = page_queries(context.captured_queries)
    if (len(done) != num) if exact else (len(done) > num):
        bound = f"{num}" if exact else f"{num} or less"
        pytest.fail(
            f"Expected to perform {bound} queries but {len(done)} were done"
            + (f"\n{info}" if info else "")
            + "\n\nQueries:\n========\n\n"
            + "\n\n".join(done)
        )
