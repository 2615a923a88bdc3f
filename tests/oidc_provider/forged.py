"""A provider that answers as a test tells it to: real HTTP on loopback, with a discovery
document, an authorization endpoint that sends the browser straight back with a code, a
token endpoint whose ID token is signed (or not) as the test's `mode` says, a userinfo
endpoint and a JWKS. What a real provider never gives, this one does, so the portal's
checks can be seen refusing it."""

import json
import threading
import time
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

KID = "forged-provider-key"
CLIENT_ID = "sns-portal"
CLIENT_SECRET = "forged-provider-client-secret"  # noqa: S105 - a test provider's
SUBJECT = "person-1"

# What each mode changes from a good answer.
MODES = {
    "good": {},
    "other_key": {"sign_with": "stranger"},  # same key id, a key the JWKS does not hold
    "unknown_key_id": {"header": {"kid": "a-key-nobody-published"}},
    "unsigned": {"alg": "none"},
    "wrong_issuer": {"claims": {"iss": "https://somebody-else.example"}},
    "wrong_audience": {"claims": {"aud": "another-client"}},
    "expired": {"claims": {"exp": -600, "iat": -1200}},  # seconds from now
    "wrong_nonce": {"claims": {"nonce": "not-the-one-sent"}},
    "no_expiry": {"drop": ["exp"]},
    "userinfo_about_someone_else": {"userinfo": {"sub": "person-2"}},
}


@cache
def _signing_keys() -> tuple:
    """The provider's key and a stranger's: made once a process (an RSA key takes 50-200 ms
    of CPU to make, and each provider lives for one test only)."""
    return tuple(rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in "ks")


class ForgedProvider:
    def __init__(self, email: str = "dana.director@example.gov.uk", email_verified=True):
        self.mode = "good"
        self.email = email
        self.email_verified = email_verified
        self.key, self.stranger_key = _signing_keys()
        self.nonces: dict[str, str] = {}  # code -> the nonce the portal sent
        self.token_requests: list[dict] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def discovery(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "end_session_endpoint": f"{self.issuer}/logout",
        }

    def jwks(self) -> dict:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": KID, "alg": "RS256", "use": "sig"}]}

    def id_token(self, nonce: str) -> str:
        change = MODES[self.mode]
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": SUBJECT,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
        }
        for name, value in change.get("claims", {}).items():
            claims[name] = now + value if name in ("exp", "iat") else value
        for name in change.get("drop", []):
            claims.pop(name)
        if change.get("alg") == "none":
            return jwt.encode(claims, None, algorithm="none", headers={"kid": KID})
        key = self.stranger_key if change.get("sign_with") == "stranger" else self.key
        headers = {"kid": KID, **change.get("header", {})}
        return jwt.encode(claims, key, algorithm="RS256", headers=headers)

    def userinfo(self) -> dict:
        claims = {"sub": SUBJECT, "email": self.email, "email_verified": self.email_verified}
        return {**claims, **MODES[self.mode].get("userinfo", {})}

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def send_json(self, body: dict, status: int = 200) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/.well-known/openid-configuration":
                    return self.send_json(provider.discovery())
                if url.path == "/jwks":
                    return self.send_json(provider.jwks())
                if url.path == "/userinfo":
                    return self.send_json(provider.userinfo())
                if url.path == "/authorize":
                    code = f"code-{len(provider.nonces)}"
                    provider.nonces[code] = query.get("nonce", "")
                    back = urlencode({"code": code, "state": query.get("state", "")})
                    self.send_response(302)
                    self.send_header("Location", f"{query['redirect_uri']}?{back}")
                    self.end_headers()
                    return None
                return self.send_json({"error": "not_found"}, 404)

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                provider.token_requests.append(form)
                if urlsplit(self.path).path != "/token" or form.get("code") not in provider.nonces:
                    return self.send_json({"error": "invalid_grant"}, 400)
                nonce = provider.nonces.pop(form["code"])
                return self.send_json(
                    {
                        "access_token": "forged-access-token",
                        "token_type": "Bearer",
                        "expires_in": 300,
                        "id_token": provider.id_token(nonce),
                    }
                )

        return Handler
