"""The write journeys' HTTP driver (bench/writes.py): each client a thread with its own
keep-alive connection and cookies, which GETs a form, takes its CSRF token and POSTs it."""

import html
import http.client
import os
import re
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


# --- one client ---------------------------------------------------------------------------


class Client:
    """A browser-like client: one keep-alive connection, its own cookies."""

    def __init__(self, base_url: str, cookie: str = ""):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.cookies: dict[str, str] = {}
        if cookie:
            name, _, value = cookie.partition("=")
            self.cookies[name] = value
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, str, str]:
        headers = {"Host": self.host, "Referer": f"http://{self.host}:{self.port}{path}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                response = self.conn.getresponse()
                text = response.read().decode("utf-8", "replace")
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
                if attempt == 2:
                    raise
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, response.getheader("Location", ""), text

    def form_post(self, path: str, fields: dict) -> tuple[int, str, float]:
        """GET the form, POST it back with its CSRF token and hidden fields: (status of the
        POST, its Location, its seconds)."""
        status, _, page = self.request("GET", path)
        if status != 200:
            return status, "", 0.0
        token = CSRF_FIELD.search(page)
        hidden = {name: html.unescape(value) for name, value in HIDDEN.findall(page)}
        body = {**hidden, **fields}
        if token:
            body["csrfmiddlewaretoken"] = html.unescape(token.group(1))
        started = time.perf_counter()
        status, location, _ = self.request("POST", path, body)
        return status, location, time.perf_counter() - started


# --- the journeys -------------------------------------------------------------------------


@dataclass
class Item:
    path: str
    fields: dict
    cookie: str = ""  # a session for the signed-in journeys; none for the emailed link


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def drive(base_url: str, items: list[Item], clients: int, seconds: float) -> dict:
    """`clients` threads take items in turn until `seconds` pass or the items run out."""
    lock = threading.Lock()
    queue = list(reversed(items))
    latencies: list[float] = []
    failures: list[str] = []
    deadline = time.perf_counter() + seconds
    shared_cookie = items[0].cookie if items and len({i.cookie for i in items}) == 1 else None

    def work():
        client = Client(base_url, shared_cookie or "")
        while time.perf_counter() < deadline:
            with lock:
                if not queue:
                    return
                item = queue.pop()
            if shared_cookie is None:
                client = Client(base_url, item.cookie)
            status, location, took = client.form_post(item.path, item.fields)
            with lock:
                if status == 302:
                    latencies.append(took)
                else:
                    failures.append(f"{status} {item.path} {location}"[:200])

    started = time.perf_counter()
    threads = [threading.Thread(target=work, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {
        "clients": clients,
        "writes": len(latencies),
        "seconds": elapsed,
        "writes_per_second": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "failures": len(failures),
        "failure_examples": failures[:3],
        "prepared": len(items),
        "ran_out": len(latencies) + len(failures) >= len(items),
        "load": os.getloadavg()[0],
        "_latencies": latencies,
    }
