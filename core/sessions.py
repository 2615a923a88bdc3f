"""Django's database sessions, with the session read on every request by a prepared
statement (`core/prepared.py`).

Every signed-in request reads its session row; building that `get()` costs Django more
than PostgreSQL takes to run it. The row asked for, and what a missing or expired one
does (no session, a new key on the next save), are Django's own
(`django.contrib.sessions.backends.db`); only the reading is prepared.
"""

import datetime

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from core.prepared import PreparedQuery

# Stand-ins found nowhere else among the query's parameters (core/prepared.py).
_KEY = "prepared-session-key-stand-in"
_NOW = datetime.datetime(1901, 2, 3, 4, 5, 6, 789, tzinfo=datetime.UTC)


def _live_session(session_key: str, now: datetime.datetime):
    return Session.objects.filter(session_key=session_key, expire_date__gt=now).values_list(
        "session_data", "expire_date"
    )


_LIVE_SESSION = PreparedQuery("sessions_live_session", _live_session, session_key=_KEY, now=_NOW)


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self):
        rows = _LIVE_SESSION.run(session_key=self.session_key, now=timezone.now())
        if not rows:
            self._session_key = None
            return None
        session_data, expire_date = rows[0]
        return Session(
            session_key=self.session_key, session_data=session_data, expire_date=expire_date
        )
