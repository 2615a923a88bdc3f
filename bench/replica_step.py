"""The register read from a streaming replica while the write journeys run on the primary
(issue 22, "read from a replica").

    python -m bench.run replica --out replica.json --work DIR --port 8767   (gunicorn stopped)
    python -m bench.run replica-remove --work DIR    (scripts/bench.sh's trap: a leftover replica)

On a throw-away copy of the bench database (`CREATE DATABASE … TEMPLATE`), a real streaming
replica of the cluster is made with `pg_basebackup -R` on loopback (core/streaming_replica.py,
as the replica's tests make theirs; it copies every database of the cluster). Three
gunicorns (2 sync workers each, production settings) serve the copy: a web for the writes
and one for the reads with `DATABASE_REPLICA_URL` pointing at the replica, one for the reads
without. With each reading web in turn, while the write journeys' clients (bench/writes.py:
directors' decisions by the emailed link and ICT's provisioning, mixed) post to the writing
web, `wrk` measures the register page and the register's CSV export is downloaded.

Which database served the reads is shown twice: the register page says "Read from the
database replica" when it was, and the replica's own `pg_stat_database` counts the rows it
read for the copy's connections in each window (this step's sampler connects to another
database of the replica, so it does not count itself). The replica's lag is sampled every
100 ms on both sides: the replica's own figure (the `sns_replica_lag_seconds` gauge's) and
the primary's `pg_stat_replication` for the replica's slot (replay lag, bytes behind).
"""

import json
import os
import signal
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
from django.conf import settings
from django.db import connection
from django.urls import reverse

from bench.console import say
from bench.sweeps import clone_drop, clone_make, clone_url, db_params
from bench.write_driver import Item, drive, percentile
from core.replica import LAG_SQL
from core.streaming_replica import StreamingReplica

SLOT_PREFIX = "sns_bench_replica_"
STATE_FILE = "replica-state.json"
REPLICA_NOTE = b"Read from the database replica"
WRITE_CLIENTS = 4
SOURCES = ("replica", "primary")


# --- what the replica and the primary say --------------------------------------------------


def replica_counters(replica: StreamingReplica, database: str) -> dict:
    """The replica's counters for `database`: its transactions and the rows it read
    (scanned and fetched).
    Read from the replica's `postgres` database, so this read is not counted."""
    db = psycopg2.connect(
        dbname="postgres", host="127.0.0.1", port=replica.port, user=replica.primary["user"]
    )
    db.autocommit = True
    try:
        with db.cursor() as cursor:
            cursor.execute(
                "SELECT xact_commit, tup_returned + tup_fetched FROM pg_stat_database "
                "WHERE datname = %s",
                [database],
            )
            transactions, rows = cursor.fetchone() or (0, 0)
    finally:
        db.close()
    return {"transactions": transactions, "rows": rows}


def counters_delta(before: dict, after: dict) -> dict:
    return {key: after[key] - before[key] for key in before}


def settled_counters(replica: StreamingReplica, database: str) -> dict:
    """The counters once the backends have reported: a backend sends its counts within a
    second of going idle."""
    time.sleep(1.5)
    return replica_counters(replica, database)


class LagSampler(threading.Thread):
    """Every 100 ms: the replica's lag as the portal's gauge reads it (LAG_SQL), and the
    primary's view of the replica's slot (replay lag, bytes not yet replayed)."""

    def __init__(self, replica: StreamingReplica):
        super().__init__(daemon=True)
        self.replica = replica
        self.running = True
        self.samples = 0
        self.lag_max = self.replay_lag_max = 0.0
        self.bytes_max = 0
        self.problem = ""

    def run(self):
        try:
            on_replica = psycopg2.connect(
                dbname="postgres",
                host="127.0.0.1",
                port=self.replica.port,
                user=self.replica.primary["user"],
            )
            on_primary = psycopg2.connect(dbname="postgres", **self.replica.primary)
        except psycopg2.Error as error:
            self.problem = str(error)[:200]
            return
        on_replica.autocommit = on_primary.autocommit = True
        try:
            with on_replica.cursor() as replica, on_primary.cursor() as primary:
                while self.running:
                    replica.execute(LAG_SQL)
                    self.lag_max = max(self.lag_max, float(replica.fetchone()[0] or 0))
                    primary.execute(
                        "SELECT COALESCE(EXTRACT(EPOCH FROM r.replay_lag), 0), "
                        "COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn), 0) "
                        "FROM pg_replication_slots s JOIN pg_stat_replication r "
                        "ON r.pid = s.active_pid WHERE s.slot_name = %s",
                        [self.replica.slot],
                    )
                    row = primary.fetchone() or (0, 0)
                    self.replay_lag_max = max(self.replay_lag_max, float(row[0]))
                    self.bytes_max = max(self.bytes_max, int(row[1]))
                    self.samples += 1
                    time.sleep(0.1)
        except psycopg2.Error as error:
            self.problem = str(error)[:200]
        finally:
            on_replica.close()
            on_primary.close()

    def stop(self) -> dict:
        self.running = False
        self.join()
        return {
            "samples": self.samples,
            "lag_max_seconds": self.lag_max,
            "replay_lag_max_seconds": self.replay_lag_max,
            "bytes_behind_max": self.bytes_max,
            "problem": self.problem,
        }


# --- the writes, in the background ----------------------------------------------------------


class Writer(threading.Thread):
    """The write journeys' clients (bench/write_driver.py) posting `items` to `base` in
    slices until told to stop or the items run out."""

    def __init__(self, base: str, items: list[Item], clients: int):
        super().__init__(daemon=True)
        self.base, self.items, self.clients = base, items, clients
        self.stopping = threading.Event()
        self.latencies: list[float] = []
        self.failures = 0
        self.examples: list[str] = []
        self.seconds = 0.0

    def run(self):
        started = time.perf_counter()
        while not self.stopping.is_set() and self.items:
            batch, self.items = self.items[: self.clients * 5], self.items[self.clients * 5 :]
            run = drive(self.base, batch, self.clients, 600)
            self.latencies += run["_latencies"]
            self.failures += run["failures"]
            self.examples = (self.examples + run["failure_examples"])[:3]
        self.seconds = time.perf_counter() - started

    def stop(self) -> dict:
        self.stopping.set()
        self.join()
        writes = len(self.latencies)
        return {
            "clients": self.clients,
            "writes": writes,
            "seconds": self.seconds,
            "writes_per_second": writes / self.seconds if self.seconds else 0.0,
            "p50_ms": percentile(self.latencies, 0.50) * 1000,
            "p99_ms": percentile(self.latencies, 0.99) * 1000,
            "failures": self.failures,
            "failure_examples": self.examples,
            "ran_out": not self.items,
        }


def write_items(count: int, used: dict, ict_cookie: str) -> list[Item]:
    """Decisions by the emailed link and provisioning by ICT, taken in turn."""
    from bench.writes import prepare_decisions, prepare_provisioning

    decisions = prepare_decisions(count // 2, used["decide"])
    provisioning = prepare_provisioning(count - len(decisions), used["provision"], ict_cookie)
    mixed = [item for pair in zip(decisions, provisioning, strict=False) for item in pair]
    longer = decisions if len(decisions) > len(provisioning) else provisioning
    return mixed + longer[len(mixed) // 2 :]


# --- one reading web, during the writes -------------------------------------------------------


def served_from(body: bytes) -> str:
    """Which database the register page says it was read from."""
    return "replica" if REPLICA_NOTE in body else "primary"


def reads_during_writes(source: str, base: str, writes_base: str, items, context) -> dict:
    """The register page (wrk) and its CSV export from `base` while `items` are written
    through `writes_base`; what the replica read in each window; the lag meanwhile."""
    from bench.fetching import http_get
    from bench.run import measure_export, wrk
    from bench.writes import server_cpu

    replica, clone, args = context["replica"], context["clone"], context["args"]
    replica.wait_for_replay()
    status, body = http_get(base, context["register"], context["cookie"])
    row = {"source": source, "probe_status": status, "page_says": served_from(body)}
    row["load_average_before"] = os.getloadavg()[0]
    lag = LagSampler(replica)
    lag.start()
    writer = Writer(writes_base, items, WRITE_CLIENTS)
    writer.start()
    url = base + context["register"]
    try:
        wrk(url, context["cookie"], args.warmup, args.connections)
        before = settled_counters(replica, clone)
        cpu = server_cpu(context["pid"][source])
        row["register"] = wrk(url, context["cookie"], args.seconds, args.connections)
        cpu = server_cpu(context["pid"][source]) - cpu
        # The web's own CPU for a page: what the replica saves the web, or costs it.
        row["web_cpu_ms_per_page"] = cpu * 1000 / max(row["register"]["requests"], 1)
        middle = settled_counters(replica, clone)
        # Twice, as the pages phase does: the faster run is reported.
        runs = [
            measure_export(base, context["csv"], context["cookie"], context["pid"][source])
            for _ in range(2)
        ]
        row["csv"] = max(runs, key=lambda r: r["rows_per_second"])
        row["csv_runs"] = runs
        after = settled_counters(replica, clone)
    finally:
        row["writes"] = writer.stop()
        row["lag"] = lag.stop()
    row["load_average_after"] = os.getloadavg()[0]
    row["replica_during_register"] = counters_delta(before, middle)
    row["replica_during_csv"] = counters_delta(middle, after)
    register, csv = row["register"], row["csv"]
    say(
        f"  register from the {source}: {register['rps']:.1f} req/s, p50 "
        f"{register['p50_us'] / 1000:.0f} ms, p99 {register['p99_us'] / 1000:.0f} ms, "
        f"web CPU {row['web_cpu_ms_per_page']:.0f} ms a page (the page says: "
        f"{row['page_says']}; replica read {row['replica_during_register']['rows']:,} rows); CSV {csv['rows']:,} rows at "
        f"{csv['rows_per_second']:,.0f} rows/s (replica read "
        f"{row['replica_during_csv']['rows']:,} rows); writes "
        f"{row['writes']['writes_per_second']:.1f}/s ({row['writes']['failures']} failed); "
        f"lag at most {row['lag']['lag_max_seconds']:.2f} s"
    )
    return row


# --- the phase --------------------------------------------------------------------------------


def replica_remove(work: str) -> None:
    """What a killed step left behind, from its state file: its webs (by their process
    ids, if still gunicorn), its replica (stopped, slot dropped, folder deleted) and its
    copy of the database."""
    state_file = Path(work) / STATE_FILE
    if not state_file.exists():
        return
    state = json.loads(state_file.read_text())
    for pid in state.get("servers", []):
        try:
            if b"gunicorn" in Path(f"/proc/{pid}/cmdline").read_bytes():
                os.kill(pid, signal.SIGTERM)
        except (OSError, ProcessLookupError):
            continue
    time.sleep(2)  # the webs close their connections to the copy
    try:
        StreamingReplica.from_state(state["replica"]).remove()
    finally:
        clone_drop(state["clone"])
        state_file.unlink(missing_ok=True)
    say(f"replica step: removed the replica and the copy left by a stopped step in {work}")


def _state_save(path: Path, replica: StreamingReplica, clone: str, servers: dict) -> None:
    state = {"replica": replica.state(), "clone": clone}
    path.write_text(json.dumps({**state, "servers": [s.pid for s in servers.values()]}))


def _stopped_by_signal(signum, frame):
    raise SystemExit(f"stopped by signal {signum}")


def phase_replica(args) -> dict:
    from bench.data.accounts import BENCH_USERS
    from bench.pages import EXPORTS
    from bench.run import session_cookie
    from bench.writes import gunicorn_start

    # A `finally` runs on SIGTERM too: the replica and the copy never outlive the step.
    signal.signal(signal.SIGTERM, _stopped_by_signal)
    clone = f"{db_params()['dbname']}_replica"
    result: dict = {"write_clients": WRITE_CLIENTS, "connections": args.connections}
    say(f"replica step: copying the database to {clone}")
    clone_make(clone)
    connection.close()
    connection.settings_dict["NAME"] = clone
    settings.DATABASES["default"]["NAME"] = clone
    primary = db_params(clone)
    replica = StreamingReplica(
        host=primary["host"],
        port=int(primary["port"]),
        user=primary["user"],
        database=clone,
        replica_port=args.replica_port or None,
        slot_prefix=SLOT_PREFIX,
        shared_buffers=args.shared_buffers,
    )
    state = Path(args.work) / STATE_FILE
    servers: dict = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT sum(pg_database_size(datname)) FROM pg_database")
            result["cluster_bytes"] = int(cursor.fetchone()[0])
        say(
            f"replica step: pg_basebackup of the cluster ({result['cluster_bytes'] / 2**30:.1f} "
            f"GB) to 127.0.0.1:{replica.port}"
        )
        _state_save(state, replica, clone, servers)
        replica.start()
        result["replica_started_seconds"] = replica.started_in_seconds
        say(f"  replica streaming after {replica.started_in_seconds:.1f} s")
        with_replica = {"DATABASE_REPLICA_URL": replica_url(clone, replica.port)}
        servers["writes"] = gunicorn_start(
            clone, args.port, args.work, env=with_replica, log="replica-writes-gunicorn"
        )
        servers["replica"] = gunicorn_start(
            clone, args.port + 1, args.work, env=with_replica, log="replica-reads-gunicorn"
        )
        servers["primary"] = gunicorn_start(
            clone, args.port + 2, args.work, log="primary-reads-gunicorn"
        )
        _state_save(state, replica, clone, servers)
        export = EXPORTS[0]
        csv_name = next(n for n in export.url_names if _resolves(n))
        context = {
            "replica": replica,
            "clone": clone,
            "args": args,
            "cookie": "Cookie: " + session_cookie(BENCH_USERS["admin"]),
            "register": reverse("oversight:register"),
            "csv": reverse(csv_name) + (f"?{export.query}" if export.query else ""),
            "pid": {source: servers[source].pid for source in SOURCES},
        }
        ict = session_cookie(BENCH_USERS["ict"])
        used: dict[str, set] = {"decide": set(), "provision": set()}
        result["runs"] = []
        for source in run_order(args.rounds):
            items = write_items(args.items, used, ict)
            say(f"replica step: reads from the {source}, {len(items)} writes prepared")
            base = f"http://127.0.0.1:{args.port + 1 + SOURCES.index(source)}"
            writes_base = f"http://127.0.0.1:{args.port}"
            run = reads_during_writes(source, base, writes_base, items, context)
            result["runs"].append(run)
        result["state"] = "measured"
    except Exception as error:  # noqa: BLE001 - reported in the table
        say(f"  failed: {error!r}")
        result["state"] = f"failed: {error!r}"[:300]
    finally:
        for server in servers.values():
            server.terminate()  # our own children, by their handles
            server.wait()
        connection.close()
        replica.remove()
        state.unlink(missing_ok=True)
        clone_drop(clone)
    return result


def run_order(rounds: int) -> list[str]:
    """Each source once a round, the first of a round alternating: on a machine whose load
    drifts, neither is always measured first (with the other's writes just before it)."""
    order = []
    for round_ in range(rounds):
        order += SOURCES if round_ % 2 == 0 else tuple(reversed(SOURCES))
    return order


def replica_url(clone: str, port: int) -> str:
    """`DATABASE_URL` for `clone`, at the replica on loopback's `port`."""
    parts = urlsplit(clone_url(clone))
    login = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=f"{login + '@' if login else ''}127.0.0.1:{port}"))


def _resolves(name: str) -> bool:
    from django.urls import NoReverseMatch

    try:
        reverse(name)
    except NoReverseMatch:
        return False
    return True


def add_parsers(sub) -> None:
    """`python -m bench.run replica` and `replica-remove`."""
    replica = sub.add_parser("replica")
    replica.add_argument("--out", required=True)
    replica.add_argument("--work", required=True, help="a folder for the servers' logs")
    replica.add_argument("--port", type=int, default=8767, help="and the next two")
    replica.add_argument("--replica-port", type=int, default=0, help="0: a free port")
    replica.add_argument("--shared-buffers", default="128MB", help="the replica's")
    replica.add_argument("--seconds", type=float, default=10, help="wrk on the register")
    replica.add_argument("--warmup", type=float, default=2)
    replica.add_argument("--connections", type=int, default=16)
    replica.add_argument("--items", type=int, default=1200, help="writes prepared per run")
    replica.add_argument("--rounds", type=int, default=1, help="each source once a round")
    remove = sub.add_parser("replica-remove")
    remove.add_argument("--work", required=True)


def main(args) -> None:
    if args.phase == "replica-remove":
        replica_remove(args.work)
        return
    result = {"replica": phase_replica(args)}
    Path(args.out).write_text(json.dumps(result, indent=2, default=str))
