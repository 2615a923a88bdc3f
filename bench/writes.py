"""The write journeys (issue 22): real HTTP clients driving a real server, on a copy.

    python -m bench.run writes --out writes.json     (the pages' gunicorn stopped: it clones the DB)

A throw-away copy of the bench database (`CREATE DATABASE … TEMPLATE`) is served by a
gunicorn of its own (2 sync workers, as the pages'). Before each measured phase, fresh
objects are made on the copy: complete drafts for "Accept and send", open approval requests
whose emailed-link token is minted here (only its hash is stored; the raw token stays in
memory), and grants awaiting provisioning. Each client is a thread with its own
keep-alive connection and cookies: it GETs the form, takes its CSRF token, and POSTs it.

Reported per journey and per number of clients (1, 4, 16): writes per second (POSTs that
did their write) and the POST's p50/p99. Then a director's decision (1 client) with nothing
else running, and again while one worker runs the expiry sweep over 100,000 due grants,
back to back; while they run, `pg_stat_activity` is sampled for backends waiting on a lock
and on what. Last, `manage.py verify_audit` on the copy, timed.
"""

import http.client
import json
import os
import resource
import subprocess
import sys
import threading
import time

import psycopg2
from django.conf import settings
from django.db import connection
from django.urls import reverse

from bench.console import say
from bench.sweeps import PREPARE, clone_drop, clone_make, clone_query, clone_url, db_params
from bench.write_driver import Item, drive, percentile

CLIENTS = (1, 4, 16)
SWEEP_SERVICE = "access_requests.services.grant_expiry.grant_expiry_sweep"


def _session(email: str) -> str:
    from bench.run import session_cookie

    return session_cookie(email)


def prepare_decisions(count: int, used: set[int]) -> list[Item]:
    """Open approval requests with a fresh emailed-link token each (raw token kept here)."""
    from django.utils import timezone

    from approvals.models import ApprovalRequest
    from approvals.selectors import token_digest

    ids = list(
        ApprovalRequest.objects.filter(
            status=ApprovalRequest.Status.OPEN, stage=ApprovalRequest.Stage.DIRECTOR
        )
        .exclude(pk__in=used)
        .order_by("id")
        .values_list("id", flat=True)[:count]
    )
    used.update(ids)
    items = []
    expires = timezone.now() + timezone.timedelta(days=10)
    for pk in ids:
        token = os.urandom(24).hex()
        ApprovalRequest.objects.filter(pk=pk).update(
            token_hash=token_digest(token), token_expires_at=expires
        )
        items.append(
            Item(reverse("approvals:decide", kwargs={"token": token}), {"decision": "approve"})
        )
    return items


def prepare_submissions(count: int, used: set[int]) -> list[Item]:
    """Drafts with every answer given, each with its requester's session."""
    from access_requests.models import BusinessCase
    from access_requests.services.business_cases import business_case_missing_answers

    items = []
    drafts = (
        BusinessCase.objects.filter(status=BusinessCase.Status.DRAFT)
        .exclude(pk__in=used)
        .select_related("requester")
        .order_by("id")
    )
    for case in drafts.iterator(chunk_size=500):
        used.add(case.pk)
        if business_case_missing_answers(case=case):
            continue
        path = reverse("access_requests:case-check", kwargs={"pk": case.pk})
        items.append(Item(path, {}, _session(case.requester.email)))
        if len(items) >= count:
            break
    return items


def prepare_provisioning(count: int, used: set[int], ict_cookie: str) -> list[Item]:
    """Grants awaiting provisioning: expired grants at the far end of the table (the sweep
    takes the near end) made awaiting again, from today."""
    from django.utils import timezone

    from access_requests.models import AccessGrant

    today = timezone.localdate()
    ids = list(
        AccessGrant.objects.filter(status=AccessGrant.Status.EXPIRED)
        .exclude(pk__in=used)
        .order_by("-id")
        .values_list("id", flat=True)[:count]
    )
    used.update(ids)
    AccessGrant.objects.filter(pk__in=ids).update(
        status=AccessGrant.Status.AWAITING_PROVISIONING,
        expired_at=None,
        provisioned_at=None,
        provisioned_by=None,
        start_date=today,
        end_date=today + timezone.timedelta(days=180),
    )
    return [
        Item(
            reverse("access_requests:provisioning-grant", kwargs={"pk": pk}),
            {"asset_tag": f"BENCH-{pk}"},
            ict_cookie,
        )
        for pk in ids
    ]


# --- CPU ------------------------------------------------------------------------------------


def machine_cpu() -> tuple[float, float]:
    """(busy, idle) CPU seconds of the whole machine since boot, from /proc/stat."""
    fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]  # noqa: PTH123, SIM115
    tick = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / tick, idle / tick


def server_cpu(pid: int) -> float:
    """CPU seconds used so far by the gunicorn workers under `pid`."""
    from bench.run import children_of

    total = 0
    for child in children_of(pid):
        try:
            stat = open(f"/proc/{child}/stat").read().rsplit(")", 1)[1].split()  # noqa: PTH123, SIM115
        except OSError:
            continue
        total += int(stat[11]) + int(stat[12])
    return total / os.sysconf("SC_CLK_TCK")


def measured(
    base: str, items: list[Item], clients: int, seconds: float, clone: str, pid: int
) -> dict:
    """`drive`, with the lock waits sampled and the CPU our server got against the
    machine's (busy, idle) over the same time."""
    sampler = LockSampler(clone)
    sampler.start()
    busy0, idle0 = machine_cpu()
    ours0 = server_cpu(pid)
    run = drive(base, items, clients, seconds)
    busy1, idle1 = machine_cpu()
    run["locks"] = sampler.stop()
    run["server_cpu_seconds"] = server_cpu(pid) - ours0
    run["machine_busy_seconds"], run["machine_idle_seconds"] = busy1 - busy0, idle1 - idle0
    return run


# --- lock waits ---------------------------------------------------------------------------


class LockSampler(threading.Thread):
    """Every 20 ms: how many backends of the copy wait on a lock, and how many of those wait
    for the audit chain's head (their statement is the head's `SELECT … FOR UPDATE`)."""

    def __init__(self, clone: str):
        super().__init__(daemon=True)
        self.clone = clone
        self.running = True
        self.samples = self.waiting = self.behind_head = 0
        self.backlog_max = 0
        self.backlog_oldest_max = 0.0

    def run(self):
        db = psycopg2.connect(**db_params(self.clone))
        db.autocommit = True
        query = """
            SELECT count(*),
                   count(*) FILTER (WHERE a.query ILIKE '%%FROM "audit_auditchainhead"%%FOR UPDATE%%')
            FROM pg_stat_activity a
            WHERE a.datname = %s AND a.wait_event_type = 'Lock'"""
        try:
            with db.cursor() as cursor:
                cursor.execute("SELECT to_regclass('audit_auditpendingevent') IS NOT NULL")
                self.has_pending_table = cursor.fetchone()[0]
                while self.running:
                    cursor.execute(query, [self.clone])
                    waiting, behind = cursor.fetchone()
                    self.samples += 1
                    self.waiting += waiting
                    self.behind_head += behind
                    if not self.has_pending_table:
                        time.sleep(0.02)
                        continue
                    # Events waiting to be chained (audit/sequencer.py): the merge delay.
                    cursor.execute(
                        "SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(staged_at)), 0) "
                        "FROM audit_auditpendingevent"
                    )
                    pending, oldest = cursor.fetchone()
                    self.backlog_max = max(self.backlog_max, pending)
                    self.backlog_oldest_max = max(self.backlog_oldest_max, float(oldest))
                    time.sleep(0.02)
        finally:
            db.close()

    def stop(self) -> dict:
        self.running = False
        self.join()
        n = max(self.samples, 1)
        return {
            "samples": self.samples,
            "mean_waiting_on_a_lock": self.waiting / n,
            "mean_waiting_behind_the_head": self.behind_head / n,
            "pending_events_max": self.backlog_max,
            "merge_delay_max_seconds": self.backlog_oldest_max,
        }


# --- the phase ----------------------------------------------------------------------------


def gunicorn_start(
    clone: str, port: int, work: str, *, env: dict | None = None, log: str = "writes-gunicorn"
) -> subprocess.Popen:
    """A gunicorn serving `clone` on `port`, with `env` added to this environment."""
    env = {
        **os.environ,
        "DATABASE_URL": clone_url(clone),
        "PORTAL_BASE_URL": f"http://127.0.0.1:{port}",
        **(env or {}),
    }
    process = subprocess.Popen(  # noqa: S603 - our own server, fixed arguments
        [
            os.path.join(os.path.dirname(sys.executable), "gunicorn"),
            "portal.wsgi:application",
            "--workers",
            "2",
            "--worker-class",
            "sync",
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "300",
            "--log-level",
            "warning",
            "--error-logfile",
            os.path.join(work, f"{log}.log"),
        ],
        env=env,
    )
    for _ in range(120):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn stopped: see {work}/{log}.log")
        time.sleep(0.5)
    raise RuntimeError("gunicorn did not answer /healthz")


def verify_timed(clone: str) -> dict:
    """`manage.py verify_audit` on the copy, in a process of its own: its seconds, and the
    CPU seconds it and its PostgreSQL backend used (on a shared machine the wall clock
    also counts the waits for a core)."""
    env = {**os.environ, "DATABASE_URL": clone_url(clone)}
    started = time.perf_counter()
    result = subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "-m", "bench.run", "verify-worker"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    line = next((x for x in result.stdout.splitlines() if x.startswith("VERIFY_JSON ")), None)
    report = json.loads(line[len("VERIFY_JSON ") :]) if line else {"ok": False}
    return {
        "seconds": seconds,
        "load": os.getloadavg()[0],
        **report,
        "output": report.get("output") or (result.stdout + result.stderr).strip()[-600:],
    }


def verify_worker_main() -> None:
    """Run `verify_audit` here and print, as one JSON line, what it said and the CPU time
    it used here and in its PostgreSQL backend."""
    import io

    from django.core.management import call_command
    from django.core.management.base import CommandError

    from bench.directory_import import _process_cpu_seconds

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    backend_before, python_before = _process_cpu_seconds(backend), time.process_time()
    output, ok = io.StringIO(), True
    try:
        call_command("verify_audit", stdout=output)
    except CommandError as error:
        output.write(str(error))
        ok = False
    backend_after = _process_cpu_seconds(backend)
    # The ranges' processes (audit.verify_parallel) are reaped children by now.
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    report = {
        "ok": ok,
        "output": output.getvalue().strip()[-600:],
        "python_cpu_seconds": time.process_time()
        - python_before
        + children.ru_utime
        + children.ru_stime,
        "postgresql_cpu_seconds": (
            backend_after - backend_before
            if backend_before is not None and backend_after is not None
            else None
        ),
    }
    print("VERIFY_JSON " + json.dumps(report))


def sequence_backlog_wait(timeout: float = 30.0) -> float:
    """Seconds until no event waits to be chained (0 when there is no sequencer backlog)."""
    try:
        from audit.sequencer import audit_backlog
    except ImportError:
        return 0.0
    started = time.perf_counter()
    while audit_backlog()["events"] and time.perf_counter() - started < timeout:
        time.sleep(0.05)
    return time.perf_counter() - started


def phase_writes(args) -> dict:
    from bench.data.accounts import BENCH_USERS

    clone = f"{db_params()['dbname']}_writes"
    say(f"write journeys: copying the database to {clone}")
    clone_make(clone)
    connection.close()
    connection.settings_dict["NAME"] = clone
    settings.DATABASES["default"]["NAME"] = clone
    server = None
    result: dict = {"journeys": [], "seconds_per_phase": args.seconds}
    try:
        server = gunicorn_start(clone, args.port, args.work)
        base = f"http://127.0.0.1:{args.port}"
        ict = _session(BENCH_USERS["ict"])
        used: dict[str, set] = {"decide": set(), "send": set(), "provision": set()}
        per_phase = args.items_per_phase
        # Few drafts of the data set have every answer: found once, shared by the phases.
        drafts: list[Item] = []
        shares: list[int] = []

        def submissions(n: int) -> list[Item]:
            if not drafts and not used["send"]:
                drafts.extend(prepare_submissions(10**9, used["send"]))
                shares.append(min(n, max(1, len(drafts) // len(CLIENTS))))
                say(f"Accept and send: {len(drafts)} complete drafts")
            share = shares[0] if shares else 0
            taken = drafts[:share]
            del drafts[:share]
            return taken

        journeys = [
            ("Accept and send", submissions),
            ("Decision by the emailed link", lambda n: prepare_decisions(n, used["decide"])),
            ("Provisioning", lambda n: prepare_provisioning(n, used["provision"], ict)),
        ]
        for label, prepare in journeys if not args.sweep_only else []:
            for clients in CLIENTS:
                items = prepare(per_phase)
                say(f"{label}, {clients} client(s): {len(items)} prepared")
                run = measured(base, items, clients, args.seconds, clone, server.pid)
                run.pop("_latencies")
                run["label"] = label
                result["journeys"].append(run)
                say(
                    f"  {run['writes_per_second']:.1f} writes/s, p50 {run['p50_ms']:.0f} ms, "
                    f"p99 {run['p99_ms']:.0f} ms, failures {run['failures']}, "
                    f"load {run['load']:.2f}; server CPU {run['server_cpu_seconds']:.1f} s, "
                    f"machine idle {run['machine_idle_seconds']:.1f} s; "
                    f"behind the head {run['locks']['mean_waiting_behind_the_head']:.2f}"
                )
        result["sweep"] = decisions_under_sweep(base, clone, used["decide"], args)
        result["merge_wait_seconds"] = sequence_backlog_wait()
        say("verify_audit on the copy")
        result["verify"] = verify_timed(clone) if not args.sweep_only else None
        if result["verify"]:
            say(f"  {result['verify']['seconds']:.1f} s: {result['verify']['output'][-200:]}")
    except Exception as error:  # noqa: BLE001 - reported in the table
        say(f"  failed: {error!r}")
        result["state"] = f"failed: {error!r}"[:300]
    finally:
        if server is not None:
            server.terminate()  # our own child, by its handle
            server.wait()
        connection.close()
        clone_drop(clone)
    return result


def decisions_under_sweep(base: str, clone: str, used: set, args) -> dict:
    """A director's decision (1 client) idle, then while the expiry sweep runs."""
    say(f"decision idle vs during the expiry sweep: making {args.sweep_items:,} grants due")
    clone_query(clone, PREPARE["expiry"], {"items": args.sweep_items})
    idle_items = prepare_decisions(args.items_per_phase, used)
    sampler = LockSampler(clone)
    sampler.start()
    # Long enough for a p99 over more than a handful of decisions.
    idle = drive(base, idle_items, 1, max(args.seconds, 20))
    idle.pop("_latencies")
    idle["locks"] = sampler.stop()
    say(f"  idle: p50 {idle['p50_ms']:.0f} ms, p99 {idle['p99_ms']:.0f} ms ({idle['writes']})")
    during_items = prepare_decisions(args.items_per_phase * 4, used)
    env = {**os.environ, "DATABASE_URL": clone_url(clone)}
    sweep = subprocess.Popen(  # noqa: S603 - our own worker
        [sys.executable, "-m", "bench.run", "sweep-worker", SWEEP_SERVICE, "--timeout", "300"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    sampler = LockSampler(clone)
    sampler.start()
    started = time.perf_counter()
    runs = []
    # Decisions for as long as the sweep runs (in slices, so the figure covers all of it).
    while sweep.poll() is None and during_items:
        batch, during_items = during_items[:50], during_items[50:]
        runs.append(drive(base, batch, 1, 300))
    out, _ = sweep.communicate()
    sweep_seconds = time.perf_counter() - started
    locks = sampler.stop()
    latencies = [took for r in runs for took in r.pop("_latencies")]
    writes = len(latencies)
    during = {
        "writes": writes,
        "writes_per_second": writes / sweep_seconds if sweep_seconds else 0.0,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "failures": sum(r["failures"] for r in runs),
        "locks": locks,
        "load": os.getloadavg()[0],
    }
    line = next((x for x in out.splitlines() if x.startswith("SWEEP_JSON ")), None)
    sweep_report = json.loads(line[len("SWEEP_JSON ") :]) if line else {}
    say(
        f"  during the sweep ({sweep_seconds:.1f} s): p50 {during['p50_ms']:.0f} ms, "
        f"p99 {during['p99_ms']:.0f} ms ({writes}); lock waits {locks}"
    )
    ratio = during["p99_ms"] / idle["p99_ms"] if idle["p99_ms"] else 0.0
    return {
        "idle": idle,
        "during": during,
        "sweep_seconds": sweep_seconds,
        "sweep": sweep_report,
        "ratio": ratio,
    }
