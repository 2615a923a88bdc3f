"""Fetching a page as a bench account does: a GET with its credential header."""

import http.client
from urllib.parse import urlsplit


def with_query(path: str, query: str) -> str:
    return f"{path}?{query}" if query else path


def credential_headers(credential: str) -> dict:
    """A credential header line ("Cookie: …" or "Authorization: …") as a headers dict."""
    name, _, value = credential.partition(": ")
    return {name: value}


def http_get(base_url: str, path: str, cookie: str, timeout: float = 120) -> tuple[int, bytes]:
    """GET `path` with `cookie`, a credential header line (`credential_headers`)."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("GET", path, headers={**credential_headers(cookie), "Host": parts.hostname})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()
