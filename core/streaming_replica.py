"""A real PostgreSQL streaming replica of the machine's cluster, on loopback, for the
replica's tests (tests/conftest.py) and the benchmark's replica step (bench/replica_step.py).

`StreamingReplica.start()` takes a base backup of the cluster at the given host and port
with `pg_basebackup -R` into a temporary folder, through a replication slot of its own
(a busy primary would otherwise recycle WAL the replica still needs), and starts it as a
hot standby on a free port (or `port`); `stop()` stops it (as if its machine went away),
`start_again()` restarts it, `remove()` stops it, drops its slot and deletes the folder.
A base backup copies the whole cluster, every database on it, so its time follows the
cluster's size. PostgreSQL's programs refuse to run as root, so under root they run as the
`postgres` user.

The primary must accept replication connections from 127.0.0.1: when its `pg_hba.conf`
has no such line, `allow_replication()` appends `host replication <user> 127.0.0.1/32
trust` and reloads the configuration (the one change outside their own database that the
tests and the benchmark make; docs/testing.md says so).
"""

import fcntl
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import closing
from pathlib import Path

import psycopg2

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
# Settings a hot standby must hold at least as high as its primary, or it refuses to start.
AT_LEAST_PRIMARY = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)


# Each user's slots have a prefix of their own: `drop_abandoned_slots` drops only those.
SLOT_PREFIX = "sns_test_replica_"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


class StreamingReplica:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        user: str,
        database: str,
        replica_port: int | None = None,
        slot_prefix: str = SLOT_PREFIX,
        shared_buffers: str = "16MB",
    ):
        self.primary = {"host": host, "port": port, "user": user}
        self.database = database
        self.port = replica_port or _free_port()
        self.shared_buffers = shared_buffers
        self.folder = Path(tempfile.mkdtemp(prefix="sns-replica-"))
        self.data = self.folder / "data"
        self.log = self.folder / "replica.log"
        self.started_in_seconds: float | None = None
        self.slot_prefix = slot_prefix
        # The primary keeps the WAL this replica has not received yet, however busy it is.
        self.slot = f"{slot_prefix}{os.getpid()}_{self.port}"

    def state(self) -> dict:
        """What `from_state` needs to remove this replica from another process (a shell's
        trap, when the process that started it was killed)."""
        return {
            "primary": self.primary,
            "database": self.database,
            "port": self.port,
            "folder": str(self.folder),
            "slot": self.slot,
            "slot_prefix": self.slot_prefix,
        }

    @classmethod
    def from_state(cls, state: dict) -> "StreamingReplica":
        replica = cls.__new__(cls)
        replica.primary = state["primary"]
        replica.database = state["database"]
        replica.port = state["port"]
        replica.shared_buffers = ""
        replica.folder = Path(state["folder"])
        replica.data = replica.folder / "data"
        replica.log = replica.folder / "replica.log"
        replica.started_in_seconds = None
        replica.slot, replica.slot_prefix = state["slot"], state["slot_prefix"]
        return replica

    # The primary's side

    def primary_connection(self, database: str | None = None):
        """A connection to the primary, closed when its `with` block ends."""
        connection = psycopg2.connect(dbname=database or self.database, **self.primary)
        connection.autocommit = True
        return closing(connection)

    def allow_replication(self) -> None:
        """Appends a replication line for loopback to the primary's pg_hba.conf if it has
        none, under a lock (parallel test workers may all try), and reloads it."""
        with self.primary_connection() as connection, connection.cursor() as cursor:
            cursor.execute("SHOW hba_file")
            hba_file = Path(cursor.fetchone()[0])
            cursor.execute("SELECT current_user")
            user = cursor.fetchone()[0]
            cursor.execute(
                "SELECT count(*) FROM pg_hba_file_rules WHERE 'replication' = ANY(database) "
                "AND type LIKE 'host%%' AND address IN ('127.0.0.1', 'all', 'samehost') "
                "AND error IS NULL"
            )
            if cursor.fetchone()[0]:
                return
            with open(Path(tempfile.gettempdir()) / "sns-pg-hba.lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                text = hba_file.read_text()
                line = f"host replication {user} 127.0.0.1/32 trust"
                if line not in text:
                    hba_file.write_text(
                        text.rstrip("\n")
                        + "\n# Added by the SNS portal (core/streaming_replica.py)\n"
                        + line
                        + "\n"
                    )
                cursor.execute("SELECT pg_reload_conf()")

    def drop_abandoned_slots(self) -> None:
        """Drops the slots of this kind (`slot_prefix`) left by runs that died before
        removing their replica: a slot nobody reads keeps the primary's WAL for ever."""
        with self.primary_connection() as connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT slot_name FROM pg_replication_slots WHERE NOT active AND slot_name LIKE %s",
                [self.slot_prefix + "%"],
            )
            for (name,) in cursor.fetchall():
                pid = name.removeprefix(self.slot_prefix).split("_")[0]
                if not (pid.isdigit() and _process_alive(int(pid))):
                    cursor.execute("SELECT pg_drop_replication_slot(%s)", [name])

    def drop_slot(self) -> None:
        with self.primary_connection() as connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                "WHERE slot_name = %s",
                [self.slot],
            )

    def _primary_settings(self) -> dict[str, str]:
        with self.primary_connection() as connection, connection.cursor() as cursor:
            values = {}
            for name in AT_LEAST_PRIMARY:
                cursor.execute(f"SHOW {name}")
                values[name] = cursor.fetchone()[0]
            return values

    # The replica's side

    def _run(self, *command: str, timeout: float = 300) -> None:
        done = subprocess.run(  # noqa: S603 - our own fixed programs and arguments
            [*_as_postgres(), *command],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.folder,
        )
        if done.returncode:
            log = self.log.read_text()[-3000:] if self.log.exists() else "(no log)"
            raise RuntimeError(
                f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}{done.stderr}\n"
                f"replica.log:\n{log}"
            )

    def start(self) -> "StreamingReplica":
        began = time.monotonic()
        self.allow_replication()
        self.drop_abandoned_slots()
        postgres = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        if postgres:
            os.chown(self.folder, postgres.pw_uid, postgres.pw_gid)
        self._run(
            str(PG_BIN / "pg_basebackup"),
            f"--host={self.primary['host']}",
            f"--port={self.primary['port']}",
            f"--username={self.primary['user']}",
            f"--pgdata={self.data}",
            "--write-recovery-conf",
            "--wal-method=stream",
            "--create-slot",
            f"--slot={self.slot}",
            "--checkpoint=fast",
            "--no-sync",
        )
        settings = "\n".join(
            f"{name} = {value}" for name, value in self._primary_settings().items()
        )
        (self.data / "postgresql.conf").write_text(
            f"port = {self.port}\n"
            "listen_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{self.folder}'\n"
            "hot_standby = on\n"
            f"shared_buffers = {self.shared_buffers}\n"
            "fsync = off\n"
            "hot_standby_feedback = on\n"
            f"{settings}\n"
        )
        (self.data / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.1/32 trust\n"
        )
        (self.data / "pg_ident.conf").write_text("")
        if postgres:
            for path in (self.data / "postgresql.conf", self.data / "pg_hba.conf"):
                os.chown(path, postgres.pw_uid, postgres.pw_gid)
            os.chown(self.data / "pg_ident.conf", postgres.pw_uid, postgres.pw_gid)
        self.start_again()
        self.wait_for_replay()
        self.started_in_seconds = time.monotonic() - began
        return self

    def start_again(self) -> None:
        self._run(
            str(PG_BIN / "pg_ctl"), "start", "-w", "-t", "120", "-D", str(self.data),
            "-l", str(self.log),
        )  # fmt: skip

    def stop(self) -> None:
        """Stops the replica's server at once, as a machine going away would."""
        self._run(str(PG_BIN / "pg_ctl"), "stop", "-m", "immediate", "-w", "-D", str(self.data))

    def remove(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self.stop()
        finally:
            try:
                self.drop_slot()
            finally:
                shutil.rmtree(self.folder, ignore_errors=True)

    def settings_dict(self) -> dict:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": self.database,
            "USER": self.primary["user"],
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "OPTIONS": {"connect_timeout": 3},
        }

    def connection(self):
        """A connection to the replica, closed when its `with` block ends."""
        connection = psycopg2.connect(
            dbname=self.database, host="127.0.0.1", port=self.port, user=self.primary["user"]
        )
        connection.autocommit = True
        return closing(connection)

    def wait_for_replay(self, timeout: float = 60) -> None:
        """Waits until the replica has replayed everything the primary has written so far."""
        with self.primary_connection() as primary, primary.cursor() as cursor:
            # A commit of our own ends the WAL to wait for at a record: a position at the
            # start of an empty segment is never reported as replayed on an idle primary.
            cursor.execute("SELECT txid_current()")
            cursor.execute("SELECT pg_current_wal_insert_lsn()")
            target = cursor.fetchone()[0]
        deadline = time.monotonic() + timeout
        while True:
            try:
                with self.connection() as replica, replica.cursor() as cursor:
                    cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target])
                    if cursor.fetchone()[0]:
                        return
            except psycopg2.OperationalError:
                pass  # still starting, or the database is not replayed yet
            if time.monotonic() > deadline:
                log = self.log.read_text()[-2000:] if self.log.exists() else ""
                raise TimeoutError(f"the replica did not reach {target}:\n{log}")
            time.sleep(0.05)

    def pause_replay(self) -> None:
        with self.connection() as replica, replica.cursor() as cursor:
            cursor.execute("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        with self.connection() as replica, replica.cursor() as cursor:
            cursor.execute("SELECT pg_wal_replay_resume()")
