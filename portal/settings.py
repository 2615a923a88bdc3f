"""Settings for the SNS access portal, read from the environment (12-factor).

With no variables set this is the embedded demo: SQLite, kombu's filesystem broker and
mail written to a folder. Production (``DEBUG`` off) refuses to start on those demo
defaults; see ``refuse_demo_defaults`` (portal/environment.py), called near the bottom.
"""

import ipaddress
import os
import sys
from email.utils import parseaddr
from pathlib import Path

from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured

from portal.environment import (
    cores_available,
    databases_from_urls,
    env_bool,
    env_int,
    env_iso_dates,
    env_list,
    env_within,
    loopback_http,
    notify_settings_problems,
    refuse_demo_defaults,
)
from portal.logging_config import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PORTAL_VAR_DIR", BASE_DIR / "var"))

DEMO_SECRET_KEY = "demo-only-insecure-key-do-not-use-in-production"  # noqa: S105
DEMO_AUDIT_CHAIN_KEY = "demo-only-audit-chain-key-do-not-use-in-production"  # noqa: S105


DEBUG = env_bool("DEBUG", False)
RUNNING_TESTS = "pytest" in sys.modules
SECRET_KEY = os.environ.get("SECRET_KEY") or DEMO_SECRET_KEY
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
PORTAL_BASE_URL = os.environ.get("PORTAL_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # manage.py runserver leaves static files to WhiteNoise, which answers a path that
    # climbs out of the static folders with 404 (Django's own handler raises: a 500).
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_forms_gds",
    "django_celery_beat",
    "axes",
    "csp",
    # Project apps, top floor first (docs/architecture.md).
    "portal",
    "monitoring",
    "api",
    "oversight",
    "staffing",
    "reviews",
    "approvals",
    "access_requests",
    "people",
    "notifications",
    "audit",
    "core",
]

# The benchmark (bench/): its data loader and floor page, for `make bench` only
# (scripts/bench.sh sets SNS_BENCH=1, which also mounts the floor page). Under pytest the
# app is installed so that its tests run, but the floor page is mounted only by the tests
# that ask for it, so the suites that walk every URL see the portal as it is deployed.
BENCH_ENABLED = env_bool("SNS_BENCH", False)
if BENCH_ENABLED or RUNNING_TESTS:
    INSTALLED_APPS.append("bench")

MIDDLEWARE = [
    # First: every answer, even a redirect or a refusal, is timed, logged and given its id.
    "monitoring.request_context.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # Notes a person's own change in the session, so their next pages read the primary.
    "core.replica.ReadYourWritesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # A query or form that cannot be read answers 400 before anything else reads it (the
    # CSRF check would, and again while drawing Django's own 400 page: a 500).
    "portal.middleware.UnreadableRequestMiddleware",
    "axes.middleware.AxesMiddleware",
    "portal.error_pages.MethodNotAllowedPage",
]
CSRF_FAILURE_VIEW = "portal.error_pages.csrf_failure"

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "portal.context_processors.portal",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL", "")
# A PostgreSQL streaming replica of the primary (docs/read-replica.md): the oversight wing's
# pages and exports and the read API read from it through core.replica.ReplicaRouter, while
# every write, every read inside a write's transaction and a person's pages just after their
# own change read the primary. Under a test runner the alias mirrors the test database.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
DATABASES = databases_from_urls(
    primary=DATABASE_URL,
    replica=DATABASE_REPLICA_URL,
    sqlite_path=VAR_DIR / "db.sqlite3",
    conn_max_age=env_int("DB_CONN_MAX_AGE", 600),
)
DATABASE_ROUTERS = ["core.replica.ReplicaRouter"]
# Reads fall back to the primary while the replica is further behind than this.
SNS_REPLICA_MAX_LAG_SECONDS = env_int("SNS_REPLICA_MAX_LAG_SECONDS", 30)
# After a person changes anything, their pages read the primary for this long.
SNS_READ_YOUR_WRITES_SECONDS = env_int("SNS_READ_YOUR_WRITES_SECONDS", 10)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "people.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend with a person's permissions read in one query (people/backends.py).
    "people.backends.PortalBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    # At least 12 characters for a password kept here (ASVS level 2, 2.1.1).
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "sign-in"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "sign-in"

# Sessions and cookies: sessions end after 8 hours or when the browser closes.
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Django's database sessions, read by a prepared statement (core/sessions.py).
SESSION_ENGINE = "core.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = not DEBUG and env_bool("SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_HSTS_SECONDS = 0 if DEBUG else env_int("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
# gov.uk domains are on the browsers' HSTS preload list; a service says so too.
SECURE_HSTS_PRELOAD = not DEBUG and env_bool("SECURE_HSTS_PRELOAD", True)

# Behind a reverse proxy: how many proxies in front of the portal add themselves to
# X-Forwarded-For (core/client.py takes the client's address from the entry the outermost
# trusted proxy added). 0: no proxy is trusted, the header is ignored, and the connection's
# address is the client's. TRUST_X_FORWARDED_FOR=1, the older on/off setting, reads as one
# proxy.
SNS_TRUSTED_PROXIES = env_int("SNS_TRUSTED_PROXIES", 1 if env_bool("TRUST_X_FORWARDED_FOR") else 0)
if SNS_TRUSTED_PROXIES < 0:
    raise ImproperlyConfigured("SNS_TRUSTED_PROXIES must be 0 or more")
# HTTP is redirected to HTTPS in production unless turned off (a proxy that redirects
# itself may turn it off); the health check answers over HTTP for load balancers. Tests
# ask for HTTPS where they mean to (secure=True).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG and not RUNNING_TESTS)
# Probes and scrapers reach the web processes directly, inside the platform's network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
# X-Forwarded-Proto says the request came over HTTPS only when a trusted proxy set it; with
# no proxy, a client could send the header itself.
if SNS_TRUSTED_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy: no inline script except the one GOV.UK line, by nonce.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# Failed sign-ins (django-axes, with the portal's handler in people/lockout.py): an email
# address tried from one client address is locked out after AXES_FAILURE_LIMIT failures for
# 15 minutes; a client address after SNS_SIGNIN_ADDRESS_FAILURE_LIMIT failures whatever the
# email (one address spraying many accounts); an email address after
# SNS_SIGNIN_EMAIL_FAILURE_LIMIT failures from any addresses (ASVS 2.2.1: at most 100 failed
# tries an hour on one account). The email is compared lower-cased, as sign-in matches it,
# and the client address is the one the audit trail records.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
SNS_SIGNIN_ADDRESS_FAILURE_LIMIT = env_int("SNS_SIGNIN_ADDRESS_FAILURE_LIMIT", 20)
SNS_SIGNIN_EMAIL_FAILURE_LIMIT = env_int("SNS_SIGNIN_EMAIL_FAILURE_LIMIT", 20)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address", "username"]
AXES_HANDLER = "people.lockout.PortalLockoutHandler"
AXES_USERNAME_CALLABLE = "people.lockout.username_of"
AXES_CLIENT_IP_CALLABLE = "core.client.client_address"
AXES_USERNAME_FORM_FIELD = "username"
# A correct sign-in forgets only its own email-and-address failures (the handler does it):
# axes's own reset would also forget every failure from the address and for the email,
# letting one's own account clear an address's count of guesses at others.
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# The "create or reset your password" page: at most this many requests per client address
# and per email address in 15 minutes; more answer "Too many requests" and send nothing.
SNS_PASSWORD_LINK_ADDRESS_LIMIT = env_int("SNS_PASSWORD_LINK_ADDRESS_LIMIT", 10)
SNS_PASSWORD_LINK_EMAIL_LIMIT = env_int("SNS_PASSWORD_LINK_EMAIL_LIMIT", 5)

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static", BASE_DIR / "build" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or RUNNING_TESTS
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG or RUNNING_TESTS
# Files are looked up when asked for, not listed at start: the tests start the middleware for
# every test client (thousands a run), and listing every static file costs ~9 ms each time.
WHITENOISE_AUTOREFRESH = DEBUG or RUNNING_TESTS

CRISPY_ALLOWED_TEMPLATE_PACKS = ["gds"]
CRISPY_TEMPLATE_PACK = "gds"
# oversight.widgets.QuickSelect is a <select> too.
CRISPY_CLASS_CONVERTERS = {"quickselect": "govuk-select"}

# Mail: SMTP when EMAIL_HOST is set, otherwise the demo outbox folder.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
DEMO_OUTBOX = not EMAIL_HOST
EMAIL_FILE_PATH = VAR_DIR / "sent-emails"
# The demo's Sent emails page (it shows everyone the password links): only when asked for
# (`make run` sets SNS_DEMO_SENT_EMAILS=1), with DEBUG on and mail going to the folder.
SNS_DEMO_SENT_EMAILS = DEBUG and DEMO_OUTBOX and env_bool("SNS_DEMO_SENT_EMAILS", False)
if DEMO_OUTBOX:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)  # STARTTLS, usually port 587
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)  # TLS from the start, usually port 465
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 15)
DEFAULT_FROM_EMAIL = os.environ.get(
    "DEFAULT_FROM_EMAIL", "SNS access portal <sns-access@example.gov.uk>"
)

# GOV.UK Notify (docs/email.md): with NOTIFY_API_KEY set, email goes through Notify instead of
# SMTP, each email through the one template NOTIFY_EMAIL_TEMPLATE_ID, whose subject is
# ((subject)) and body ((body)). Notify's delivery receipts come to /notify/callback/ with
# the bearer token NOTIFY_CALLBACK_TOKEN (set the same token in Notify's callback settings).
NOTIFY_API_KEY = os.environ.get("NOTIFY_API_KEY", "").strip()
NOTIFY_EMAIL_TEMPLATE_ID = os.environ.get("NOTIFY_EMAIL_TEMPLATE_ID", "").strip()
NOTIFY_REPLY_TO_ID = os.environ.get("NOTIFY_REPLY_TO_ID", "").strip()
NOTIFY_CALLBACK_TOKEN = os.environ.get("NOTIFY_CALLBACK_TOKEN", "").strip()
NOTIFY_BASE_URL = os.environ.get(
    "NOTIFY_BASE_URL", "https://api.notifications.service.gov.uk"
).rstrip("/")
# Notify accepts 3,000 messages a minute per API key; the sender keeps under it.
NOTIFY_MESSAGES_PER_MINUTE = env_int("NOTIFY_MESSAGES_PER_MINUTE", 3000)
if _notify_problems := notify_settings_problems(
    api_key=NOTIFY_API_KEY, template_id=NOTIFY_EMAIL_TEMPLATE_ID, reply_to_id=NOTIFY_REPLY_TO_ID
):
    raise ImproperlyConfigured("GOV.UK Notify: " + "; ".join(_notify_problems))

# Celery: Redis when CELERY_BROKER_URL is set, otherwise kombu's filesystem transport.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_FOLDER = VAR_DIR / "celery"
if CELERY_BROKER_URL:
    CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", CELERY_BROKER_URL)
else:
    CELERY_BROKER_URL = "filesystem://"
    for sub in ("queue", "processed", "control", "results"):
        (CELERY_FOLDER / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_FOLDER / "queue"),
        "data_folder_out": str(CELERY_FOLDER / "queue"),
        "processed_folder": str(CELERY_FOLDER / "processed"),
        "control_folder": str(CELERY_FOLDER / "control"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = os.environ.get(
        "CELERY_RESULT_BACKEND", f"file://{CELERY_FOLDER / 'results'}"
    )
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Publishing to an unreachable broker must fail fast: the outbox sweep sends later.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **globals().get("CELERY_BROKER_TRANSPORT_OPTIONS", {}),
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}

# The one beat schedule. django-celery-beat copies it into the database on start,
# where admins can see it (only a superuser may change it: people/roles.py says why).
SNS_SWEEP_INTERVAL_SECONDS = float(os.environ.get("SNS_SWEEP_INTERVAL_SECONDS", "300"))
# Background work yields the cores to requests (core/sweeping.py, core/priority.py): a sweep's
# batches at once, each on its own connection (one keeps at most a core busy, so that is the
# default on two cores or fewer), the share of its time it works, and the worker's nice value.
SNS_SWEEP_CONNECTIONS = env_int("SNS_SWEEP_CONNECTIONS", 1 if cores_available() <= 2 else 2)
SNS_SWEEP_DUTY_CYCLE = env_within("SNS_SWEEP_DUTY_CYCLE", 1.0, low=0.05, high=1.0)
SNS_WORKER_NICE = int(env_within("SNS_WORKER_NICE", 10, low=0, high=19))
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {
        "task": "notifications.outbox_sweep",
        "schedule": min(60.0, SNS_SWEEP_INTERVAL_SECONDS),
    },
    # Access grants: expiry notices, expiry on the end date, safe-use reminders.
    "grant-expiry-notice-sweep": {
        "task": "access_requests.grant_expiry_notice_sweep",
        "schedule": SNS_SWEEP_INTERVAL_SECONDS,
    },
    "grant-expiry-sweep": {
        "task": "access_requests.grant_expiry_sweep",
        "schedule": SNS_SWEEP_INTERVAL_SECONDS,
    },
    "grant-safe-use-sweep": {
        "task": "access_requests.grant_safe_use_sweep",
        "schedule": SNS_SWEEP_INTERVAL_SECONDS,
    },
    # Director decisions: reminders, escalation and lapse.
    "approvals-remind-due": {
        "task": "approvals.remind_due",
        "schedule": SNS_SWEEP_INTERVAL_SECONDS,
    },
    "approvals-lapse-due": {
        "task": "approvals.lapse_due",
        "schedule": SNS_SWEEP_INTERVAL_SECONDS,
    },
    # A delegation past its last day closes its deputy's open requests.
    "approvals-delegations-end-due": {
        "task": "approvals.delegations_end_due",
        "schedule": SNS_SWEEP_INTERVAL_SECONDS,
    },
}

# The audit trail (audit/, docs/threat-model.md). Each event's hash is an HMAC-SHA-256 keyed
# with AUDIT_CHAIN_KEY, a secret kept outside the database, so whoever holds only the
# database login cannot recompute the chain after editing it. The demo and the tests use a
# fixed key; production refuses to start without a key of its own (portal.environment.refuse_demo_defaults).
AUDIT_CHAIN_KEY = os.environ.get("AUDIT_CHAIN_KEY") or DEMO_AUDIT_CHAIN_KEY
# Signed checkpoints of the chain (count, last id, head hash) are appended to a file in this
# folder, out of the database login's reach; in production a folder the portal may only
# append to (`chattr +a`, or a mount the database host cannot write).
AUDIT_CHECKPOINT_DIR = Path(os.environ.get("AUDIT_CHECKPOINT_DIR", VAR_DIR / "audit-checkpoints"))
AUDIT_CHECKPOINT_INTERVAL_SECONDS = float(
    os.environ.get("AUDIT_CHECKPOINT_INTERVAL_SECONDS", "900")
)
CELERY_BEAT_SCHEDULE["audit-checkpoint"] = {
    "task": "audit.checkpoint_write",
    "schedule": AUDIT_CHECKPOINT_INTERVAL_SECONDS,
}
# `verify_audit` checks a long trail in this many processes at once (one range each).
AUDIT_VERIFY_WORKERS = int(os.environ.get("AUDIT_VERIFY_WORKERS", str(os.cpu_count() or 1)))
# Events written while another transaction held the chain head wait to be chained
# (audit/sequencer.py); each writer chains them on commit, and beat does so this often as
# the backstop: the longest an event can wait if its writer dies between commit and chaining.
AUDIT_SEQUENCE_INTERVAL_SECONDS = float(os.environ.get("AUDIT_SEQUENCE_INTERVAL_SECONDS", "1"))
CELERY_BEAT_SCHEDULE["audit-sequence"] = {
    "task": "audit.sequence_pending",
    "schedule": AUDIT_SEQUENCE_INTERVAL_SECONDS,
}

# Business rules that the department may tune.
SNS_MAX_MONTHS_PASSIVE = env_int("SNS_MAX_MONTHS_PASSIVE", 12)
SNS_MAX_MONTHS_ACTIVE = env_int("SNS_MAX_MONTHS_ACTIVE", 6)
# Which business units a requester may charge for a standalone PC: those of their own
# directorate, or of their whole organisation.
SNS_CHARGEABLE_UNITS = os.environ.get("SNS_CHARGEABLE_UNITS", "directorate").strip().lower()
if SNS_CHARGEABLE_UNITS not in ("directorate", "organisation"):
    raise ImproperlyConfigured("SNS_CHARGEABLE_UNITS must be 'directorate' or 'organisation'")
SNS_APPROVAL_TOKEN_DAYS = env_int("SNS_APPROVAL_TOKEN_DAYS", 14)
# The read API (/api/v1/): requests each service token may make in a minute (a fixed
# window; the next answers 429 with Retry-After until the minute is over).
SNS_API_RATE_PER_MINUTE = env_int("SNS_API_RATE_PER_MINUTE", 120)
# The emailed "create or reset your password" link: Django's password-reset token works
# until the password changes (so once) and for this long at most.
SNS_PASSWORD_LINK_HOURS = env_int("SNS_PASSWORD_LINK_HOURS", 24)
PASSWORD_RESET_TIMEOUT = SNS_PASSWORD_LINK_HOURS * 60 * 60
# At most one password link email per person in this many minutes (asking again sooner sends
# nothing: the link already sent still works).
SNS_PASSWORD_EMAIL_MINUTES = env_int("SNS_PASSWORD_EMAIL_MINUTES", 5)
SNS_REMINDER_WORKING_DAYS = env_int("SNS_REMINDER_WORKING_DAYS", 3)
SNS_MAX_REMINDERS = env_int("SNS_MAX_REMINDERS", 3)
SNS_LAPSE_AFTER_DAYS = env_int("SNS_LAPSE_AFTER_DAYS", 30)
# The longest a director may name a deputy for, counting the first and last days.
SNS_MAX_DELEGATION_DAYS = env_int("SNS_MAX_DELEGATION_DAYS", 92)
SNS_BANK_HOLIDAYS = env_iso_dates("SNS_BANK_HOLIDAYS", "2026-12-25,2026-12-28,2027-01-01")
SNS_EXPIRY_NOTICE_DAYS = [int(d) for d in env_list("SNS_EXPIRY_NOTICE_DAYS", "30,7,1")]
SNS_SAFE_USE_REMINDER_DAYS = env_int("SNS_SAFE_USE_REMINDER_DAYS", 90)
SNS_SAFE_USE_CONFIRM_DAYS = env_int("SNS_SAFE_USE_CONFIRM_DAYS", 14)
SNS_STANDALONE_PC_YEARLY_COST = env_int("SNS_STANDALONE_PC_YEARLY_COST", 1200)
SNS_OUTBOX_MAX_ATTEMPTS = env_int("SNS_OUTBOX_MAX_ATTEMPTS", 8)
# ICT's shared mailbox (service desk): one "withdraw this access" email per grant goes there.
# Empty: each active ICT person gets the email instead.
SNS_ICT_MAILBOX = os.environ.get("SNS_ICT_MAILBOX", "").strip()
# How long a sender holds an email it is sending; a crashed sender's claim runs out then.
SNS_OUTBOX_CLAIM_SECONDS = env_int("SNS_OUTBOX_CLAIM_SECONDS", 120)
# Each email written to the outbox is queued for sending as its transaction commits. Off,
# the emails wait in the outbox for the outbox sweep (tests that run services in several
# threads turn it off: eager Celery's "join will block" flag is process-wide and races).
SNS_SEND_EMAIL_ON_COMMIT = True

# Retention (docs/privacy.md): how long personal data is kept before the retention sweep
# removes it. Days after an email was sent (or given up) that its body is kept; days after a
# case closed (rejected, withdrawn, lapsed, or its grant ended) that its free-text reasons
# are kept: the department's retention period for case papers.
SNS_RETENTION_EMAIL_BODY_DAYS = env_int("SNS_RETENTION_EMAIL_BODY_DAYS", 90)
SNS_RETENTION_CASE_TEXT_DAYS = env_int("SNS_RETENTION_CASE_TEXT_DAYS", 2 * 365)
# Days django-axes' record of each sign-in (client address and browser) is kept.
SNS_RETENTION_SIGN_IN_DAYS = env_int("SNS_RETENTION_SIGN_IN_DAYS", 90)
# Days each audit event's client address and browser are kept (audit.retention). The
# database refuses to clear them sooner than 30 days (audit migration 0008).
SNS_RETENTION_CLIENT_DAYS = env_int("SNS_RETENTION_CLIENT_DAYS", 400)
if SNS_RETENTION_CLIENT_DAYS < 30:
    raise ImproperlyConfigured("SNS_RETENTION_CLIENT_DAYS must be 30 or more")
# Hourly: expired sessions, old sign-in records, old email bodies, closed cases' reasons,
# old audit events' client addresses and browsers.
CELERY_BEAT_SCHEDULE["retention-sweep"] = {"task": "portal.retention_sweep", "schedule": 3600.0}

# Access reviews (reviews/, docs/access-reviews.md): a review is due this many days after it
# starts; a schedule starts one every SNS_ACCESS_REVIEW_MONTHS months (0: never, only admins
# start them); what nobody reviewed by the end is kept or ended (`keep` or `end`).
SNS_ACCESS_REVIEW_DAYS = env_int("SNS_ACCESS_REVIEW_DAYS", 14)
SNS_ACCESS_REVIEW_MONTHS = env_int("SNS_ACCESS_REVIEW_MONTHS", 0)
SNS_ACCESS_REVIEW_DEFAULT = os.environ.get("SNS_ACCESS_REVIEW_DEFAULT", "end").strip().lower()
if SNS_ACCESS_REVIEW_DEFAULT not in {"keep", "end"}:
    raise ImproperlyConfigured("SNS_ACCESS_REVIEW_DEFAULT must be keep or end")
CELERY_BEAT_SCHEDULE["access-reviews-sweep"] = {
    "task": "reviews.access_reviews_sweep",
    "schedule": SNS_SWEEP_INTERVAL_SECONDS,
}

# Text for people, JSON lines for a log platform (LOG_FORMAT=json); each line carries the
# request id and user id (portal/logging_config.py).
try:
    LOGGING = logging_config(
        log_format=os.environ.get("LOG_FORMAT", "text").strip().lower() or "text",
        level=os.environ.get("LOG_LEVEL", "INFO"),
    )
except ValueError as error:
    raise ImproperlyConfigured(str(error)) from error
# The worker logs through the same configuration, so its lines carry the request id too.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# /metrics (monitoring/): a bearer token, or the addresses (IPs or networks) allowed to
# scrape it; with neither, the page does not exist.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
try:
    METRICS_ALLOWED_NETWORKS = [
        ipaddress.ip_network(value, strict=False) for value in env_list("METRICS_ALLOWED_ADDRESSES")
    ]
except ValueError as error:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_ADDRESSES: {error}") from error


if not DEBUG and not RUNNING_TESTS:
    refuse_demo_defaults(
        secret_key=SECRET_KEY,
        audit_chain_key=AUDIT_CHAIN_KEY,
        demo_keys=(DEMO_SECRET_KEY, DEMO_AUDIT_CHAIN_KEY),
        demo_outbox=bool(DEMO_OUTBOX and not NOTIFY_API_KEY),
    )

SERVICE_NAME = os.environ.get("SERVICE_NAME", "Request social media access")
DEPARTMENT_NAME = os.environ.get("DEPARTMENT_NAME", "Home Office")
# Where people reach the service's administrators: shown in the footer, on the help page and
# wherever a page tells someone to get in touch. SNS_CONTACT_URL (a contact form) is optional.
SNS_CONTACT_EMAIL = os.environ.get("SNS_CONTACT_EMAIL") or parseaddr(DEFAULT_FROM_EMAIL)[1]
SNS_CONTACT_URL = os.environ.get("SNS_CONTACT_URL", "")
# The phase banner's feedback link; without it, feedback goes to the contact email.
SNS_FEEDBACK_URL = os.environ.get("SNS_FEEDBACK_URL", "")

# Single sign-on with OpenID Connect (docs/single-sign-on.md), beside local passwords. The
# provider is named by its issuer; the portal reads its discovery document
# (`<issuer>/.well-known/openid-configuration`) when someone first signs in, and keeps it
# for an hour (people/sso/discovery.py). The three variables come together or not at all.
OIDC_ISSUER = os.environ.get("OIDC_ISSUER", "").strip()
OIDC_CLIENT_ID = os.environ.get("OIDC_CLIENT_ID", "").strip()
OIDC_CLIENT_SECRET = os.environ.get("OIDC_CLIENT_SECRET", "")
oidc_given = {
    "OIDC_ISSUER": OIDC_ISSUER,
    "OIDC_CLIENT_ID": OIDC_CLIENT_ID,
    "OIDC_CLIENT_SECRET": OIDC_CLIENT_SECRET,
}
if any(oidc_given.values()) and not all(oidc_given.values()):
    raise ImproperlyConfigured(
        "Single sign-on needs OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET together: set "
        + ", ".join(name for name, value in oidc_given.items() if not value)
        + ", or unset all three for passwords only"
    )
SSO_ENABLED = bool(OIDC_ISSUER)


if SSO_ENABLED and not (OIDC_ISSUER.startswith("https://") or loopback_http(OIDC_ISSUER)):
    # The discovery document names the keys that ID tokens are checked with.
    raise ImproperlyConfigured(
        "OIDC_ISSUER must be an https:// address (http:// only for a provider on this machine)"
    )
OIDC_SIGN_IN_LABEL = os.environ.get("OIDC_SIGN_IN_LABEL", "").strip() or (
    f"Sign in with your {DEPARTMENT_NAME} account"
)
# LOCAL_PASSWORDS=off: single sign-on is the only way in. The password form and the password
# link pages are hidden, and every password sign-in is refused (people/backends.py).
LOCAL_PASSWORDS = env_bool("LOCAL_PASSWORDS", True)
if not LOCAL_PASSWORDS and not SSO_ENABLED:
    raise ImproperlyConfigured(
        "LOCAL_PASSWORDS=off leaves no way to sign in: set OIDC_ISSUER, OIDC_CLIENT_ID and "
        "OIDC_CLIENT_SECRET for single sign-on, or turn local passwords back on"
    )
# The ID token's signing algorithm: one the provider publishes a key for in its JWKS.
OIDC_RP_SIGN_ALGO = os.environ.get("OIDC_SIGN_ALGO", "RS256").strip()
if OIDC_RP_SIGN_ALGO not in {"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"}:
    raise ImproperlyConfigured("OIDC_SIGN_ALGO must be RS256, RS384, RS512, ES256, ES384 or ES512")
# mozilla-django-oidc's own settings (the endpoints come from the discovery document).
OIDC_RP_CLIENT_ID = OIDC_CLIENT_ID
OIDC_RP_CLIENT_SECRET = OIDC_CLIENT_SECRET
OIDC_RP_SCOPES = "openid email"
OIDC_USE_PKCE = True
OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
OIDC_USE_NONCE = True
OIDC_CREATE_USER = False  # people come from the staff directory, never from sign-in
OIDC_STORE_ACCESS_TOKEN = False
OIDC_STORE_ID_TOKEN = False
OIDC_ALLOW_UNSECURED_JWT = False
OIDC_VERIFY_SSL = True
OIDC_TIMEOUT = env_int("OIDC_TIMEOUT_SECONDS", 10)
OIDC_AUTHENTICATION_CALLBACK_URL = "people:sso-callback"
# The provider's clock and ours may differ by this many seconds when checking exp and iat.
OIDC_CLOCK_LEEWAY_SECONDS = env_int("OIDC_CLOCK_LEEWAY_SECONDS", 60)
# Signs people in from the provider's answer; takes no part in passwords or permissions.
AUTHENTICATION_BACKENDS.append("people.sso.backend.SingleSignOnBackend")
