"""The benchmark harness behind `make bench` (scripts/bench.sh starts and stops gunicorn).

    python -m bench.run pages  --base-url http://127.0.0.1:8765 --master-pid N --out pages.json
    python -m bench.run sweeps --out sweeps.json          (gunicorn stopped: it clones the DB)
    python -m bench.run import --out import.json --work DIR   (the staff directory import)
    python -m bench.run writes --out writes.json --work DIR   (write journeys, on a copy)
    python -m bench.run replica --out replica.json --work DIR (reads from a replica, writes)
    python -m bench.run report pages.json sweeps.json import.json   (prints, saves results)

It reads the same environment as the server (DATABASE_URL, SECRET_KEY…): sessions are
created directly in the database for the bench accounts, so nothing signs in through axes.
"""

import argparse
import datetime
import http.client
import json
import os
import re
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.urls import NoReverseMatch, get_resolver, reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.config import Export  # noqa: E402
from bench.console import say  # noqa: E402
from bench.data.accounts import BENCH_USERS  # noqa: E402
from bench.data.marker import marker_read  # noqa: E402
from bench.deep_pages import deep_path  # noqa: E402
from bench.fetching import credential_headers, http_get, with_query  # noqa: E402
from bench.pages import EXPORTS, PAGES, SWEEPS  # noqa: E402
from bench.report import phase_report  # noqa: E402
from people.models import User  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LUA = ROOT / "bench" / "report.lua"


# --- URLs -------------------------------------------------------------------------------


def url_names() -> set[str]:
    def walk(resolver, namespace=""):
        for pattern in resolver.url_patterns:
            if hasattr(pattern, "url_patterns"):
                ns = pattern.namespace
                yield from walk(pattern, f"{namespace}{ns}:" if ns else namespace)
            elif pattern.name:
                yield f"{namespace}{pattern.name}"

    return set(walk(get_resolver()))


def reverse_for_object(name: str, obj) -> str:
    """A detail page's URL, whatever its parameter is called (pk, id, reference…)."""
    attempts = [{"pk": obj.pk}, {"id": obj.pk}, {"case_id": obj.pk}, {"case_pk": obj.pk}]
    if getattr(obj, "reference", None):
        attempts.append({"reference": obj.reference})
    for kwargs in attempts:
        try:
            return reverse(name, kwargs=kwargs)
        except NoReverseMatch:
            continue
    return reverse(name, args=[obj.pk])


# --- sessions and HTTP --------------------------------------------------------------------


def session_cookie(email: str) -> str:
    user = User.objects.get(email=email)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def api_token_header(email: str, scope: str) -> str:
    """An Authorization header with a new service token of `scope` owned by this person: the
    read API's pages answer to a token, not a session."""
    from api.services import service_token_create

    user = User.objects.get(email=email)
    _token, secret = service_token_create(
        name=f"bench {scope}",
        owner=user,
        scopes=[scope, "register:read"] if scope == "cases:reasons" else [scope],
        expires_at=timezone.now() + datetime.timedelta(days=1),
        actor=user,
    )
    return f"Authorization: Bearer {secret}"


NONCE = re.compile(rb'nonce="[^"]*"|name="csrfmiddlewaretoken" value="[^"]*"')


def same_page(a: bytes, b: bytes) -> bool:
    return NONCE.sub(b"", a) == NONCE.sub(b"", b)


# --- wrk ---------------------------------------------------------------------------------------


def wrk(url: str, cookie: str, seconds: float, connections: int) -> dict:
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "60s",
        "-s",
        str(LUA),
        "-H",
        cookie,
        url,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    for line in result.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            data = json.loads(line[len("BENCH_JSON ") :])
            duration = data["duration_us"] / 1e6
            data["rps"] = data["requests"] / duration if duration else 0.0
            return data
    raise RuntimeError(f"wrk failed: {result.stdout}\n{result.stderr}")


# --- memory ----------------------------------------------------------------------------------


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.append(int(entry.name))
    return sorted(found)


def status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


class RssSampler(threading.Thread):
    def __init__(self, pids: list[int]):
        super().__init__(daemon=True)
        self.pids = pids
        self.idle = {pid: status_kb(pid, "VmRSS") for pid in pids}
        self.peak = dict(self.idle)
        self.running = True

    def run(self):
        while self.running:
            for pid in self.pids:
                self.peak[pid] = max(self.peak[pid], status_kb(pid, "VmRSS"))
            time.sleep(0.005)

    def stop(self) -> dict:
        self.running = False
        self.join()
        worker = max(self.pids, key=lambda pid: self.peak[pid] - self.idle[pid])
        return {
            "worker_pid": worker,
            "idle_rss_mb": self.idle[worker] / 1024,
            "peak_rss_mb": self.peak[worker] / 1024,
            "above_idle_mb": (self.peak[worker] - self.idle[worker]) / 1024,
            "vm_hwm_mb": status_kb(worker, "VmHWM") / 1024,
        }


def measure_export(base_url: str, path: str, cookie: str, master_pid: int) -> dict:
    workers = children_of(master_pid) if master_pid else []
    sampler = RssSampler(workers) if workers else None
    if sampler:
        sampler.start()
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
    started = time.perf_counter()
    conn.request("GET", path, headers={**credential_headers(cookie), "Host": parts.hostname})
    response = conn.getresponse()
    first_byte = time.perf_counter() - started
    lines = size = 0
    head = b""
    while chunk := response.read(65536):
        if not head:
            head = chunk[:300]
        lines += chunk.count(b"\n")
        size += len(chunk)
    took = time.perf_counter() - started
    conn.close()
    memory = sampler.stop() if sampler else {}
    rows = max(lines - 1, 0)
    return {
        "status": response.status,
        "content_type": response.getheader("Content-Type", ""),
        "rows": rows,
        "bytes": size,
        "seconds": took,
        "first_byte_seconds": first_byte,
        "rows_per_second": rows / took if took else 0.0,
        "head": head.decode("utf-8", "replace").splitlines()[:1],
        **memory,
    }


# --- the pages phase --------------------------------------------------------------------------


def phase_pages(args) -> dict:
    names = url_names()
    cookies: dict[str, str] = {}

    def cookie_for(user_key: str, api_scope: str = "") -> str:
        """The credential header line for a page: a session's cookie, or for the read API
        a service token."""
        key = f"{user_key} {api_scope}"
        if key not in cookies:
            cookies[key] = (
                api_token_header(BENCH_USERS[user_key], api_scope)
                if api_scope
                else "Cookie: " + session_cookie(BENCH_USERS[user_key])
            )
        return cookies[key]

    rows = []
    # The floor is measured again every few pages: on a shared machine the load drifts, so
    # each page is compared with the floor measured just before it.
    floor_runs: list[dict] = []
    floor_target: tuple[str, str] | None = None
    since_floor = 0
    for page in PAGES:
        if floor_target and since_floor >= args.floor_every:
            floor_runs.append(floor_measure(args, *floor_target))
            since_floor = 0
        row = {"label": page.label, "url_name": page.url_name, "user": page.user}
        row["load_average"] = os.getloadavg()[0]  # a shared machine: what else was running
        row.update(role=page.role, key=page.key, peer=page.peer, peer_target=page.peer_target)
        rows.append(row)
        if page.url_name not in names:
            row["state"] = "not built"
            say(f"{page.label}: not built ({page.url_name} does not resolve)")
            continue
        cookie = cookie_for(page.user, page.api_scope)
        try:
            if page.obj is not None:
                user = User.objects.get(email=BENCH_USERS[page.user])
                path = reverse_for_object(page.url_name, page.obj(user))
            else:
                path = reverse(page.url_name)
        except NoReverseMatch as error:
            row["state"] = f"cannot build its URL: {error}"
            continue
        path = with_query(path, page.query)
        if page.deep is not None:
            first = path
            path, how = deep_path(page, first, args.base_url, cookie)
            row["deep"] = how
            if not path:
                row["state"] = f"no deep page: {how}"
                continue
            _, first_body = http_get(args.base_url, first, cookie)
        row["path"] = path
        status, body = http_get(args.base_url, path, cookie)
        row["probe_status"], row["probe_bytes"] = status, len(body)
        if status != 200:
            row["state"] = f"HTTP {status} on probe"
            say(f"{page.label}: {path} answered {status}")
            continue
        if page.deep is not None and same_page(body, first_body):
            row["deep"] += " (same content as the first page: the parameter may be ignored)"
        say(f"{page.label}: {path}")
        # The admin's changelists take a second or more a request: at 16 connections their
        # queue would still hold the 2 workers when the next page is measured. Their
        # throughput, all they are compared by, is the same at 2 connections.
        connections = min(args.connections, 2) if page.role == "peer" else args.connections
        row["connections"] = connections
        wrk(args.base_url + path, cookie, args.warmup, connections)
        row.update(wrk(args.base_url + path, cookie, args.duration, connections))
        row["state"] = "measured"
        say(
            f"  {row['rps']:.1f} req/s, p50 {row['p50_us'] / 1000:.1f} ms, "
            f"p99 {row['p99_us'] / 1000:.1f} ms, not 200: {row['not_200']}"
        )
        if page.role == "floor":
            floor_target = (path, cookie)
            floor_runs.append({k: row[k] for k in ("rps", "p50_us", "p99_us", "not_200")})
        else:
            since_floor += 1
        row["floor_run"] = len(floor_runs) - 1 if floor_runs else None
    if floor_target and since_floor:
        floor_runs.append(floor_measure(args, *floor_target))

    exports = [export_run(export, names, cookie_for, args) for export in EXPORTS]
    return {
        "pages": rows,
        "floor_runs": floor_runs,
        "exports": exports,
        "settings": run_settings(args),
    }


def floor_measure(args, path: str, cookie: str) -> dict:
    run = wrk(args.base_url + path, cookie, args.duration, args.connections)
    say(f"  floor again: {run['rps']:.1f} req/s, p99 {run['p99_us'] / 1000:.1f} ms")
    return {k: run[k] for k in ("rps", "p50_us", "p99_us", "not_200")}


def export_run(export: Export, names: set[str], cookie_for, args) -> dict:
    from access_requests.models import AccessGrant

    row = {"label": export.label, "user": export.user}
    row.update(target_rows_per_second=export.target_rows_per_second)
    row.update(target_memory_mb=export.target_memory_mb)
    name = next((n for n in export.url_names if n in names), None)
    if name is None:
        row["state"] = "not built"
        say(f"{export.label}: not built (none of {export.url_names} resolves)")
        return row
    path = with_query(reverse(name), export.query)
    row.update(url_name=name, path=path, grants=AccessGrant.objects.count())
    cookie = cookie_for(export.user)
    say(f"{export.label}: {path} (twice: the faster run and the larger memory are reported)")
    first = measure_export(args.base_url, path, cookie, args.master_pid)
    second = measure_export(args.base_url, path, cookie, args.master_pid)
    best = second if second["rows_per_second"] >= first["rows_per_second"] else first
    row.update(best, first_run=first, second_run=second)
    row["state"] = "measured" if best["status"] == 200 else ""
    if best["status"] != 200:
        row["state"] = f"HTTP {best['status']}"
    say(
        f"  {best['rows']:,} rows in {best['seconds']:.1f} s = "
        f"{best['rows_per_second']:,.0f} rows/s, +"
        f"{max(first.get('above_idle_mb', 0), second.get('above_idle_mb', 0)):.1f} MB above idle"
    )
    return row


def run_settings(args) -> dict:
    loaded = marker_read() or {}
    return {
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "connections": args.connections,
        "load_average_start": list(os.getloadavg()),
        "scale": loaded.get("scale"),
        "counts": loaded.get("counts"),
    }


# --- the sweeps phase ------------------------------------------------------------------------


def phase_sweeps(args) -> dict:
    from bench import sweeps

    return {"sweeps": [sweeps.sweep_measure(sweep, args) for sweep in SWEEPS]}


# --- the staff directory import ---------------------------------------------------------------


def phase_import(args) -> dict:
    from bench import directory_import
    from bench.pages import DIRECTORY_IMPORT

    return {"directory_import": directory_import.import_measure(DIRECTORY_IMPORT, Path(args.work))}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    sub = parser.add_subparsers(dest="phase", required=True)
    pages = sub.add_parser("pages")
    pages.add_argument("--base-url", required=True)
    pages.add_argument("--master-pid", type=int, default=0)
    pages.add_argument("--duration", type=float, default=10)
    pages.add_argument("--warmup", type=float, default=2)
    pages.add_argument("--connections", type=int, default=2)
    pages.add_argument("--floor-every", type=int, default=3, help="pages between floor runs")
    pages.add_argument("--out", required=True)
    sweeps = sub.add_parser("sweeps")
    sweeps.add_argument("--out", required=True)
    sweeps.add_argument("--timeout", type=float, default=120)
    worker = sub.add_parser("sweep-worker")
    worker.add_argument("service")
    worker.add_argument("--timeout", type=float, default=120)
    directory = sub.add_parser("import")
    directory.add_argument("--out", required=True)
    directory.add_argument("--work", required=True, help="a folder for the generated file")
    directory_worker = sub.add_parser("import-worker")
    directory_worker.add_argument("file")
    directory_worker.add_argument("--full", action="store_true")
    writes = sub.add_parser("writes")
    writes.add_argument("--out", required=True)
    writes.add_argument("--work", required=True, help="a folder for the server's log")
    writes.add_argument("--port", type=int, default=8766)
    writes.add_argument("--seconds", type=float, default=8, help="per journey and concurrency")
    writes.add_argument("--items-per-phase", type=int, default=400)
    writes.add_argument("--sweep-items", type=int, default=100_000)
    writes.add_argument(
        "--sweep-only", action="store_true", help="only the decision under the sweep"
    )
    from bench.replica_step import add_parsers as replica_parsers

    replica_parsers(sub)
    sub.add_parser("verify-worker")
    report = sub.add_parser("report")
    report.add_argument("inputs", nargs="+")
    report.add_argument("--results-dir", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args(argv)

    if args.phase == "pages":
        Path(args.out).write_text(json.dumps(phase_pages(args), indent=2, default=str))
    elif args.phase == "sweeps":
        Path(args.out).write_text(json.dumps(phase_sweeps(args), indent=2, default=str))
    elif args.phase == "import":
        Path(args.out).write_text(json.dumps(phase_import(args), indent=2, default=str))
    elif args.phase == "writes":
        from bench import writes as writes_module

        result = {"writes": writes_module.phase_writes(args)}
        Path(args.out).write_text(json.dumps(result, indent=2, default=str))
    elif args.phase in ("replica", "replica-remove"):
        from bench import replica_step

        replica_step.main(args)
    elif args.phase == "verify-worker":
        from bench import writes as writes_module

        writes_module.verify_worker_main()
    elif args.phase == "import-worker":
        from bench import directory_import

        directory_import.worker_main(args)
    elif args.phase == "sweep-worker":
        from bench import sweeps as sweep_module

        sweep_module.worker_main(args)
    else:
        phase_report(args)


if __name__ == "__main__":
    main()
