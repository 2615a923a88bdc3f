"""A stand-in for GOV.UK Notify's API on loopback, for tests: the parts the portal uses.

It answers `POST /v2/notifications/email` as Notify does: it checks the client's JSON Web
Token the way Notify does (the issuer is the service id, signed HS256 with the API key's
secret, issued within 30 seconds of now), refusing any other with Notify's 403 error; it
checks the template id and the email address (400 ValidationError or BadRequestError), and
answers 201 with Notify's response. A test can make it answer 429 (over the rate limit) or
any other error for the next requests, or a page that is not JSON. What it accepted is kept in `sent`; `receipt()`
builds the delivery receipt Notify would send to the callback for one of them.
"""

import datetime
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt

# Notify's documented errors (https://docs.notifications.service.gov.uk/python.html).
ERRORS = {
    "clock": (403, "AuthError", "Error: Your system clock must be accurate to within 30 seconds"),
    "key": (403, "AuthError", "Invalid token: API key not found"),
    "no_token": (401, "AuthError", "Unauthorized: authentication token must be provided"),
    "rate": (
        429,
        "RateLimitError",
        "Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds",
    ),
    "team_only": (
        400,
        "BadRequestError",
        "Can't send to this recipient using a team-only API key",
    ),
    "template": (400, "BadRequestError", "Template not found"),
    "address": (400, "ValidationError", "email_address Not a valid email address"),
    "server": (500, "Exception", "Internal server error"),
}
ISSUED_AT_BOUND_SECONDS = 30


def api_key_for(service_id: str, secret: str, name: str = "portal_test") -> str:
    """A key in Notify's format: `{key_name}-{service_id}-{secret}`."""
    return f"{name}-{service_id}-{secret}"


@dataclass
class Notification:
    id: str
    email_address: str
    template_id: str
    personalisation: dict
    reference: str | None
    email_reply_to_id: str | None
    created_at: datetime.datetime


@dataclass
class NotifyStandIn:
    service_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    secret: str = field(default_factory=lambda: str(uuid.uuid4()))
    template_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def __post_init__(self):
        self.sent: list[Notification] = []
        self.refused: list[tuple[int, str]] = []  # (status, message) of each refusal
        self._answers: list[str] = []  # errors to answer next, one per request
        # Seconds Notify's clock is ahead of the portal's (the tests' clock, time-machine's
        # when a test travels: the portal and Notify agree unless a test says otherwise).
        self.clock_offset = 0.0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.stand_in = self
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def api_key(self) -> str:
        return api_key_for(self.service_id, self.secret)

    def answer_next(self, error: str, times: int = 1) -> None:
        """Answer the next `times` requests with one of `ERRORS` (after checking the token)."""
        with self._lock:
            self._answers += [error] * times

    def to(self, address: str) -> list[Notification]:
        with self._lock:
            return [n for n in self.sent if n.email_address == address]

    @property
    def subjects(self) -> list[str]:
        with self._lock:
            return [n.personalisation["subject"] for n in self.sent]

    def receipt(self, notification: Notification, status: str) -> dict:
        """The JSON body of Notify's delivery receipt (callback) for this email."""
        now = datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")
        return {
            "id": notification.id,
            "reference": notification.reference,
            "to": notification.email_address,
            "status": status,
            "created_at": notification.created_at.isoformat().replace("+00:00", "Z"),
            "completed_at": now,
            "sent_at": now,
            "notification_type": "email",
            "template_id": notification.template_id,
            "template_version": 1,
        }

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

    # The request's checks, in Notify's order: the token, then the body.

    def check_token(self, header: str | None) -> str | None:
        """None if the token is one Notify would accept, or which error it answers."""
        if not header or not header.startswith("Bearer "):
            return "no_token"
        token = header.removeprefix("Bearer ")
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
            if jwt.get_unverified_header(token).get("alg") != "HS256":
                return "key"
        except jwt.PyJWTError:
            return "key"
        if unverified.get("iss") != self.service_id:
            return "key"
        try:
            claims = jwt.decode(
                token,
                key=self.secret,
                algorithms=["HS256"],
                options={"verify_iat": False, "require": ["iss", "iat"]},
            )
        except jwt.PyJWTError:
            return "key"
        if abs(time.time() + self.clock_offset - int(claims["iat"])) > ISSUED_AT_BOUND_SECONDS:
            return "clock"
        return None

    def accept(self, body: dict) -> tuple[int, dict | str]:
        with self._lock:
            answer = self._answers.pop(0) if self._answers else None
        if answer == "not_json":  # a proxy's page in front of Notify, say
            return 200, "<html><body>Service unavailable</body></html>"
        if answer:
            return self._error(answer)
        if body.get("template_id") != self.template_id:
            return self._error("template")
        address = body.get("email_address") or ""
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address):
            return self._error("address")
        notification = Notification(
            id=str(uuid.uuid4()),
            email_address=address,
            template_id=body["template_id"],
            personalisation=body.get("personalisation") or {},
            reference=body.get("reference"),
            email_reply_to_id=body.get("email_reply_to_id"),
            created_at=datetime.datetime.now(datetime.UTC),
        )
        with self._lock:
            self.sent.append(notification)
        content = notification.personalisation
        return 201, {
            "id": notification.id,
            "reference": notification.reference,
            "content": {
                "subject": content.get("subject", ""),
                "body": content.get("body", ""),
                "from_email": "sns.access@notifications.service.gov.uk",
                "one_click_unsubscribe_url": None,
            },
            "uri": f"{self.base_url}/v2/notifications/{notification.id}",
            "template": {
                "id": self.template_id,
                "version": 1,
                "uri": f"{self.base_url}/services/{self.service_id}/templates/{self.template_id}",
            },
            "scheduled_for": None,
        }

    def _error(self, name: str) -> tuple[int, dict]:
        status, error, message = ERRORS[name]
        with self._lock:
            self.refused.append((status, message))
        return status, {"errors": [{"error": error, "message": message}], "status_code": status}


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet: the tests read `sent` and `refused`
        pass

    def _answer(self, status: int, body: dict | str) -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header(
            "Content-Type", "text/html" if isinstance(body, str) else "application/json"
        )
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):  # noqa: N802 - BaseHTTPRequestHandler's name
        stand_in: NotifyStandIn = self.server.stand_in
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path != "/v2/notifications/email":
            self._answer(404, {"errors": [{"error": "NotFound", "message": "Not found"}]})
            return
        refused = stand_in.check_token(self.headers.get("Authorization"))
        if refused:
            self._answer(*stand_in._error(refused))
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._answer(400, {"errors": [{"error": "ValidationError", "message": "Bad JSON"}]})
            return
        self._answer(*stand_in.accept(body))
