"""Starting the test provider: a migrated SQLite database, a new RS256 key, the portal as
its one client, and `manage.py runserver` on a free loopback port."""

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Provider:
    issuer: str
    client_id: str
    client_secret: str
    process: subprocess.Popen

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def new_signing_key_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def start_provider(
    folder: Path, *, redirect_uri: str, post_logout_redirect_uri: str, people: list[dict]
) -> Provider:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "signing-key.pem").write_bytes(new_signing_key_pem())
    client_id, client_secret = "sns-portal", secrets.token_urlsafe(32)
    world = {
        "client": {
            "id": client_id,
            "secret": client_secret,
            "redirect_uri": redirect_uri,
            "post_logout_redirect_uri": post_logout_redirect_uri,
        },
        "people": people,
    }
    (folder / "world.json").write_text(json.dumps(world))
    env = {
        # Only what the provider needs: none of the portal's settings or secrets.
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "tests.oidc_provider.settings",
        "TEST_PROVIDER_DIR": str(folder),
        "TEST_PROVIDER_SECRET_KEY": secrets.token_urlsafe(50),
        "PYTHONPATH": str(ROOT),
    }
    log = (folder / "provider.log").open("wb")
    for step in (
        ["-m", "django", "migrate", "--verbosity", "0"],
        ["-m", "tests.oidc_provider.seed", str(folder / "world.json")],
    ):
        subprocess.run(  # noqa: S603
            [sys.executable, *step], cwd=ROOT, env=env, check=True, stdout=log, stderr=log
        )
    port = free_port()
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    issuer = f"http://127.0.0.1:{port}/o"
    provider = Provider(issuer, client_id, client_secret, process)
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"{issuer}/.well-known/openid-configuration", timeout=2).ok:
                return provider
        except requests.ConnectionError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            provider.stop()
            raise RuntimeError(
                f"The test provider did not start: {(folder / 'provider.log').read_text()}"
            )
        time.sleep(0.2)
