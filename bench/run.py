"""The benchmark harness behind `make bench` (scripts/bench.sh starts and stops gunicorn).

    python -m bench.run pages  --base-url http://127.0.0.1:8765 --master-pid N --out pages.json
    python -m bench.run sweeps --out sweeps.json          (gunicorn stopped: it clones the DB)
    python -m bench.run report pages.json sweeps.json     (prints the table, saves results)

It reads the same environment as the server (DATABASE_URL, SECRET_KEY…): sessions are
created directly in the database for the bench accounts, so nothing signs in through axes.
"""

import argparse
import base64
import datetime
import html
import http.client
import json
import os
import platform
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
django.setup()

from django.apps import apps  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.db import connection  # noqa: E402
from django.urls import NoReverseMatch, get_resolver, reverse  # noqa: E402

from bench.config import Deep, Export, Page  # noqa: E402
from bench.data.accounts import BENCH_USERS  # noqa: E402
from bench.data.marker import marker_read  # noqa: E402
from bench.pages import EXPORTS, FLOOR, PAGES, SWEEPS  # noqa: E402
from people.models import User  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LUA = ROOT / "bench" / "report.lua"


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


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


def with_query(path: str, query: str) -> str:
    return f"{path}?{query}" if query else path


# --- sessions and HTTP --------------------------------------------------------------------


def session_cookie(email: str) -> str:
    user = User.objects.get(email=email)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def http_get(base_url: str, path: str, cookie: str, timeout: float = 120) -> tuple[int, bytes]:
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Cookie": cookie, "Host": parts.hostname})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


NONCE = re.compile(rb'nonce="[^"]*"|name="csrfmiddlewaretoken" value="[^"]*"')


def same_page(a: bytes, b: bytes) -> bool:
    return NONCE.sub(b"", a) == NONCE.sub(b"", b)


# --- deep pages -----------------------------------------------------------------------------

NEXT_LINK = re.compile(r"<a\b[^>]*>", re.S)


def next_href(body: str) -> str | None:
    for tag in NEXT_LINK.findall(body):
        if re.search(r'\brel="next"', tag):
            match = re.search(r'\bhref="([^"]*)"', tag)
            if match:
                return html.unescape(match.group(1))
    return None


def decode_cursor(value: str) -> list | None:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        decoded = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return decoded if isinstance(decoded, list) and decoded else None


def encode_like(values: list, template: str) -> str:
    raw = json.dumps(values, separators=(",", ":"))
    encoded = base64.urlsafe_b64encode(raw.encode()).decode()
    return encoded if template.endswith("=") else encoded.rstrip("=")


def as_cursor_value(value):
    return value.isoformat() if isinstance(value, datetime.date | datetime.datetime) else value


def deep_cursor(deep: Deep, cursor: list) -> list | None:
    """The sort values of the row `deep.fraction` of the way down, found by matching the
    first page's cursor (the last row shown) to a row and its fields."""
    model = apps.get_model(deep.model)
    queryset = model.objects.all()
    if deep.current_only:
        queryset = queryset.filter(status__in=["awaiting", "active"])
    row = model.objects.filter(pk=cursor[-1]).first() if isinstance(cursor[-1], int) else None
    if row is None:
        return None
    fields = []
    for value in cursor[:-1]:
        match = next(
            (
                f.attname
                for f in model._meta.concrete_fields
                if not f.primary_key and as_cursor_value(getattr(row, f.attname)) == value
            ),
            None,
        )
        if match is None:
            return None
        fields.append(match)
    fields.append("pk")
    total = queryset.count()
    # The first page's last row is near the top of the ordering: which way does it run?
    before = queryset.filter(pk__lt=row.pk).count() if not fields[:-1] else None
    if before is None:
        first = fields[0]
        before = queryset.filter(**{f"{first}__lt": getattr(row, first)}).count()
    descending = before > total / 2
    order = [f"-{f}" if descending else f for f in fields]
    position = int(total * deep.fraction)
    target = queryset.order_by(*order)[position : position + 1].first()
    if target is None:
        return None
    return [as_cursor_value(getattr(target, f if f != "pk" else "pk")) for f in fields]


def deep_path(page: Page, first_path: str, base_url: str, cookie: str) -> tuple[str, str]:
    """(path of a deep page, how it was found)."""
    status, body = http_get(base_url, first_path, cookie)
    href = next_href(body.decode("utf-8", "replace")) if status == 200 else None
    if not href:
        return "", "no rel=next link on the first page"
    first_query = dict(parse_qsl(urlsplit(first_path).query))
    next_parts = urlsplit(href)
    next_query = dict(parse_qsl(next_parts.query))
    changed = [k for k, v in next_query.items() if first_query.get(k) != v]
    path = urlsplit(first_path).path
    for name in changed:
        value = next_query[name]
        if value.isdigit():
            numbers = [int(n) for n in re.findall(rf"[?&;]{re.escape(name)}=(\d+)", body.decode())]
            last = max(numbers, default=0)
            deep = max(2, round(last * page.deep.fraction)) if last > 2 else page.deep.page
            query = {**next_query, name: str(deep)}
            return with_query(path, urlencode(query)), f"page number {deep} of {last or '?'}"
        cursor = decode_cursor(value)
        if cursor is not None:
            values = deep_cursor(page.deep, cursor)
            if values is not None:
                query = {**next_query, name: encode_like(values, value)}
                where = f"keyset cursor at {int(page.deep.fraction * 100)}% of the rows"
                return with_query(path, urlencode(query)), where
    # Fallback: walk Next links (shallower, but a real later page).
    walked = 0
    current = href
    for _ in range(40):
        status, body = http_get(
            base_url, urlsplit(current).path + "?" + urlsplit(current).query, cookie
        )
        following = next_href(body.decode("utf-8", "replace")) if status == 200 else None
        if not following:
            break
        current, walked = following, walked + 1
    parts = urlsplit(current)
    return with_query(parts.path or path, parts.query), f"followed Next {walked + 1} times"


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
        f"Cookie: {cookie}",
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
    conn.request("GET", path, headers={"Cookie": cookie, "Host": parts.hostname})
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

    def cookie_for(user_key: str) -> str:
        if user_key not in cookies:
            cookies[user_key] = session_cookie(BENCH_USERS[user_key])
        return cookies[user_key]

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
        row.update(role=page.role, key=page.key, peer=page.peer, peer_target=page.peer_target)
        rows.append(row)
        if page.url_name not in names:
            row["state"] = "not built"
            say(f"{page.label}: not built ({page.url_name} does not resolve)")
            continue
        cookie = cookie_for(page.user)
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
        wrk(args.base_url + path, cookie, args.warmup, args.connections)
        row.update(wrk(args.base_url + path, cookie, args.duration, args.connections))
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
        "scale": loaded.get("scale"),
        "counts": loaded.get("counts"),
    }


# --- the sweeps phase ------------------------------------------------------------------------


def phase_sweeps(args) -> dict:
    from bench import sweeps

    return {"sweeps": [sweeps.sweep_measure(sweep, args) for sweep in SWEEPS]}


# --- the report ----------------------------------------------------------------------------------


def machine() -> dict:
    cpu = ""
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    memory_gb = status = 0
    try:
        memory_gb = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    except (OSError, ValueError, IndexError):
        pass
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        status = cursor.fetchone()[0]
    commit = subprocess.run(  # noqa: S603
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(memory_gb, 1),
        "load_average": os.getloadavg(),
        "postgresql": status,
        "python": platform.python_version(),
        "django": django.get_version(),
        "commit": commit,
    }


def ms(us: float) -> str:
    return f"{us / 1000:.1f}"


def ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def page_rows(pages: list[dict], floor_runs: list[dict]) -> list[dict]:
    by_key = {p["key"]: p for p in pages if p.get("key") and p.get("state") == "measured"}
    table = []
    for p in pages:
        run = p.get("floor_run")
        floor = floor_runs[run] if run is not None and floor_runs else by_key.get(FLOOR)
        row = {"label": p["label"], "path": p.get("path", p["url_name"]), "state": p["state"]}
        table.append(row)
        if p["state"] != "measured":
            row["verdict"] = p["state"]
            continue
        row.update(rps=p["rps"], p50_ms=p["p50_us"] / 1000, p99_ms=p["p99_us"] / 1000)
        row.update(not_200=p["not_200"], deep=p.get("deep", ""))
        if floor:
            row["p99_to_floor"] = p["p99_us"] / floor["p99_us"] if floor["p99_us"] else None
            row["rps_to_floor"] = p["rps"] / floor["rps"] if floor["rps"] else None
        peer = by_key.get(p["peer"]) if p.get("peer") else None
        if peer:
            row["rps_to_peer"] = p["rps"] / peer["rps"] if peer["rps"] else None
        if p["role"] == "floor" and floor_runs:
            # The floor's own row: the median of its runs, and their spread.
            rps = sorted(r["rps"] for r in floor_runs)
            p99 = sorted(r["p99_us"] for r in floor_runs)
            median = len(rps) // 2
            row.update(rps=rps[median], p99_ms=p99[median] / 1000, p99_to_floor=None)
            row.update(rps_to_floor=None, floor_runs=len(floor_runs))
            row["verdict"] = (
                f"reference: median of {len(rps)} runs, {rps[0]:.0f}–{rps[-1]:.0f} req/s, "
                f"p99 {p99[0] / 1000:.0f}–{p99[-1] / 1000:.0f} ms"
            )
            continue
        if p["role"] != "page":
            row["verdict"] = "reference" if not p["not_200"] else f"{p['not_200']} not 200"
            continue
        misses = []
        if p["not_200"]:
            misses.append(f"{p['not_200']} answers not 200")
        if not floor:
            misses.append("no floor measured")
        else:
            if row["p99_to_floor"] is not None and row["p99_to_floor"] > 3:
                misses.append("p99 > 3× floor")
            if row["rps_to_floor"] is not None and row["rps_to_floor"] < 1 / 3:
                misses.append("req/s < ⅓ floor")
        if p.get("peer"):
            if not peer:
                misses.append("peer not measured")
            elif row.get("rps_to_peer") is not None and row["rps_to_peer"] < p["peer_target"]:
                misses.append(f"< {p['peer_target']:g}× peer")
        row["target"] = "p99 ≤ 3× floor, req/s ≥ ⅓ floor" + (
            f", ≥ {p['peer_target']:g}× peer" if p.get("peer") else ""
        )
        row["verdict"] = "met" if not misses else "MISSED: " + "; ".join(misses)
    return table


def export_row(e: dict) -> dict:
    row = {"label": e["label"], "path": e.get("path", ""), "state": e["state"]}
    if e["state"] != "measured":
        row["verdict"] = e["state"]
        return row
    misses = []
    if e["rows_per_second"] < e["target_rows_per_second"]:
        misses.append(f"< {e['target_rows_per_second']:,} rows/s")
    # The larger of the two runs: a worker that grew in the first run starts the second
    # at its grown size.
    runs = (e, e.get("first_run") or {}, e.get("second_run") or {})
    sampled = [r.get("above_idle_mb") for r in runs]
    sampled = [a for a in sampled if a is not None]
    above = max(sampled) if sampled else None
    if above is None:
        misses.append("memory not sampled")
    elif above >= e["target_memory_mb"]:
        misses.append(f"≥ {e['target_memory_mb']:g} MB above idle")
    if e["rows"] < e.get("grants", 0):
        misses.append(f"exported {e['rows']:,} of {e['grants']:,} grants")
    row.update(
        rows=e["rows"],
        seconds=e["seconds"],
        rows_per_second=e["rows_per_second"],
        above_idle_mb=above,
        verdict="met" if not misses else "MISSED: " + "; ".join(misses),
    )
    return row


def phase_report(args) -> dict:
    data: dict = {}
    for name in args.inputs:
        path = Path(name)
        if path.exists():
            data.update(json.loads(path.read_text()))
    now = datetime.datetime.now().astimezone()
    result = {
        "date": now.isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": data.get("settings", {}),
        "pages": page_rows(data.get("pages", []), data.get("floor_runs", [])),
        "exports": [export_row(e) for e in data.get("exports", [])],
        "sweeps": data.get("sweeps", []),
        "raw": data,
    }
    markdown = report_markdown(result)
    print(markdown)
    out = Path(args.results_dir)
    out.mkdir(parents=True, exist_ok=True)
    stamp = now.strftime("%Y-%m-%d-%H%M")
    (out / f"{stamp}.md").write_text(markdown)
    (out / f"{stamp}.json").write_text(json.dumps(result, indent=2, default=str))
    (out / "latest.md").write_text(markdown)
    say(f"saved {out / (stamp + '.md')}, {out / (stamp + '.json')} and {out / 'latest.md'}")
    return result


def report_markdown(result: dict) -> str:
    m, s = result["machine"], result["settings"]
    counts = s.get("counts") or {}
    lines = [
        f"# Benchmark {result['date']}",
        "",
        f"Machine: {m['cpu']} × {m['cores']} cores, {m['memory_gb']} GB; PostgreSQL "
        f"{m['postgresql']}, Python {m['python']}, Django {m['django']}, commit {m['commit']}. "
        f"Load average at the end: {', '.join(f'{x:.1f}' for x in m['load_average'])} "
        "(a shared machine: expect noise).",
        f"Data: scale {s.get('scale')}: "
        + ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in counts.items())
        + ".",
        f"Load: wrk, 1 thread, {s.get('connections')} connections, {s.get('warmup_s')} s "
        f"warm-up then {s.get('duration_s')} s per page, on loopback; gunicorn, 2 sync workers, "
        "DEBUG off, CONN_MAX_AGE 600.",
        "",
        "| page | req/s | p50 ms | p99 ms | p99 ÷ floor | req/s ÷ floor | req/s ÷ admin peer "
        "| target met? |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in result["pages"]:
        if r["state"] != "measured":
            lines.append(f"| {r['label']} | | | | | | | {r['verdict']} |")
            continue
        lines.append(
            f"| {r['label']} | {r['rps']:.1f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
            f"{ratio(r.get('p99_to_floor'))} | {ratio(r.get('rps_to_floor'))} | "
            f"{ratio(r.get('rps_to_peer'))} | {r['verdict']} |"
        )
    lines += ["", "| export | rows | seconds | rows/s | MB above idle | target met? |"]
    lines.append("| --- | ---: | ---: | ---: | ---: | --- |")
    for e in result["exports"]:
        if e["state"] != "measured":
            lines.append(f"| {e['label']} | | | | | {e['verdict']} |")
            continue
        above = e["above_idle_mb"]
        lines.append(
            f"| {e['label']} | {e['rows']:,} | {e['seconds']:.1f} | {e['rows_per_second']:,.0f} "
            f"| {'—' if above is None else f'{above:.1f}'} | {e['verdict']} |"
        )
    lines += [
        "",
        "| sweep | due items | handled by one worker | seconds | items/s "
        "| two workers: due, left, duplicates | target met? |",
        "| --- | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for w in result["sweeps"]:
        if w.get("state") != "measured":
            lines.append(f"| {w['label']} | | | | | | {w.get('state')} |")
            continue
        lines.append(
            f"| {w['label']} (`{w['service']}`) | {w['due']:,} | {w['handled']:,} | "
            f"{w['seconds']:.1f} | {w['per_second']:,.0f} | {w['two_workers_due']:,}, "
            f"{w['two_workers_still_due']:,}, {w['duplicates']} | {w['verdict']} |"
        )
    measured = [w for w in result["sweeps"] if w.get("state") == "measured"]
    if measured and measured[0].get("sweep_connections"):
        lines += [
            "",
            "One worker is one process calling the sweep until it finds nothing due; it works "
            f"on {measured[0]['sweep_connections']} batch(es) at once, each on its own "
            "database connection (`SNS_SWEEP_CONNECTIONS`).",
        ]
    lines += ["", "Measured URLs:", ""]
    for r in result["pages"] + result["exports"]:
        if r.get("path") and r["state"] == "measured":
            note = f" ({r['deep']})" if r.get("deep") else ""
            lines.append(f"- {r['label']}: `{r['path']}`{note}")
    return "\n".join(lines) + "\n"


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
    report = sub.add_parser("report")
    report.add_argument("inputs", nargs="+")
    report.add_argument("--results-dir", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args(argv)

    if args.phase == "pages":
        Path(args.out).write_text(json.dumps(phase_pages(args), indent=2, default=str))
    elif args.phase == "sweeps":
        Path(args.out).write_text(json.dumps(phase_sweeps(args), indent=2, default=str))
    elif args.phase == "sweep-worker":
        from bench import sweeps as sweep_module

        sweep_module.worker_main(args)
    else:
        phase_report(args)


if __name__ == "__main__":
    main()
