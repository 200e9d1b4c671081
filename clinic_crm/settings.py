"""Settings for the clinic CRM.

Everything that differs between deployments is read from environment variables; the
defaults are for development on a machine with PostgreSQL and Redis on 127.0.0.1.
Production mode (``DEBUG=false``) refuses to start without a real secret key.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}") from exc


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

# --- Secret key: a development key is only accepted in development mode. ---------------
DEV_SECRET_KEY_PREFIX = "dev-insecure-"  # noqa: S105 - a prefix that is refused, not a key
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Production mode (DEBUG=false) needs a long random "
            "secret key, e.g. python -c 'import secrets; print(secrets.token_urlsafe(64))'."
        )
    SECRET_KEY = DEV_SECRET_KEY_PREFIX + "only-for-local-development-never-in-production-0123"
elif not DEBUG and (
    SECRET_KEY.startswith((DEV_SECRET_KEY_PREFIX, "django-insecure")) or len(SECRET_KEY) < 50
):
    raise ImproperlyConfigured(
        "SECRET_KEY is a development key or shorter than 50 characters; "
        "production mode (DEBUG=false) refuses to start with it."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must list the site's host names when DEBUG=false.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "django_htmx",
    "csp",
    "clinic_crm.staff",
    "clinic_crm.audit",
    "clinic_crm.catalogue",
    "clinic_crm.messaging",
    "patients",
    "journeys",
    "feedback",
    "metrics",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before WhiteNoise, so that static files carry the policies too.
    "csp.middleware.CSPMiddleware",
    "clinic_crm.security.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Audit rows written while a request is served carry its user, IP and user agent.
    "clinic_crm.audit.context.AuditContextMiddleware",
    "clinic_crm.security.NoStoreForStaffMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "clinic_crm.staff.middleware.SessionLifetimeMiddleware",
    "clinic_crm.staff.middleware.RequireVerifiedStaffMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Axes goes last so that it sees the outcome of the login views.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "clinic_crm.urls"
WSGI_APPLICATION = "clinic_crm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "clinic_crm.staff.context_processors.staff_navigation",
            ],
        },
    },
]

# --- Database: PostgreSQL only, two roles. ----------------------------------------------
# The application connects as DATABASE_URL's role, which owns nothing and may only
# INSERT and SELECT on the append-only tables (clinic_crm.db.app_privileges_grant);
# migrate, flush and seed_demo switch to DATABASE_MIGRATE_URL's role, the owner
# (clinic_crm.db.owner_connection). With only DATABASE_URL set, both are that one role
# (e.g. a benchmark database as postgres): that works, but is not least privilege.
DATABASE_URL = env_str("DATABASE_URL")
DATABASE_MIGRATE_URL = env_str("DATABASE_MIGRATE_URL")
if not DATABASE_URL:
    if DATABASE_MIGRATE_URL:
        raise ImproperlyConfigured("DATABASE_MIGRATE_URL is set but DATABASE_URL is not.")
    DATABASE_URL = "postgres://clinic_crm_app@127.0.0.1:5432/clinic_crm"
    DATABASE_MIGRATE_URL = "postgres://clinic_crm_owner@127.0.0.1:5432/clinic_crm"
DATABASE_MIGRATE_URL = DATABASE_MIGRATE_URL or DATABASE_URL


def _postgres(name: str, url: str, **options) -> dict:
    database = dj_database_url.parse(url, **options)
    if database["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured(f"{name} must point at PostgreSQL (postgres://...).")
    database.setdefault("OPTIONS", {})["connect_timeout"] = env_int("DATABASE_CONNECT_TIMEOUT", 5)
    return database


DATABASES = {"default": _postgres("DATABASE_URL", DATABASE_URL, conn_max_age=60)}
# The owner's connection fields (USER, PASSWORD, HOST, PORT, OPTIONS); owner_connection
# keeps the default connection's database NAME, which in tests is the test database's.
DATABASE_MIGRATE = _postgres("DATABASE_MIGRATE_URL", DATABASE_MIGRATE_URL)
if DATABASE_MIGRATE["NAME"] != DATABASES["default"]["NAME"]:
    raise ImproperlyConfigured(
        "DATABASE_URL and DATABASE_MIGRATE_URL must name the same database, not "
        f"{DATABASES['default']['NAME']!r} and {DATABASE_MIGRATE['NAME']!r}."
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: Celery broker and Django cache. ---------------------------------------------
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "clinic_crm",
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = timedelta(hours=6)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = env_str(
    "CELERY_BEAT_SCHEDULE_FILENAME", str(BASE_DIR / "var" / "celerybeat-schedule")
)
CELERY_BEAT_SCHEDULE = {
    "worklist-rules": {
        "task": "journeys.tasks.worklist_rules_run_task",
        "schedule": timedelta(minutes=15),
    },
    "messages-dispatch": {
        "task": "clinic_crm.messaging.tasks.messages_dispatch_task",
        "schedule": timedelta(minutes=1),
    },
    # Check-ups, reactivation, greetings and stage materials, planned each morning (UTC;
    # the messages themselves go out at the clinic's hour in each patient's zone).
    "messaging-rules": {
        "task": "clinic_crm.messaging.tasks.messaging_rules_run_task",
        "schedule": crontab(hour=3, minute=30),
    },
    # Rollups: the doctor-days queued by triggers (each change also queues a run at
    # once), and a full rebuild each night.
    "metrics-rollups-refresh": {
        "task": "metrics.tasks.rollups_refresh_task",
        "schedule": timedelta(minutes=1),
    },
    "metrics-rollups-rebuild": {
        "task": "metrics.tasks.rollups_rebuild_task",
        "schedule": crontab(hour=2, minute=30),
    },
    "metrics-cohorts-snapshot": {
        "task": "metrics.tasks.cohorts_snapshot_task",
        "schedule": crontab(hour=3, minute=0),
    },
    "survey-reminders": {
        "task": "feedback.tasks.survey_reminders_plan_task",
        "schedule": timedelta(minutes=15),
    },
    "recovery-escalate": {
        "task": "feedback.tasks.recovery_escalate_task",
        "schedule": timedelta(minutes=15),
    },
    "clear-expired-sessions": {
        "task": "clinic_crm.staff.tasks.sessions_clear_expired",
        "schedule": timedelta(hours=1),
    },
}
# The weekly pattern report of complaint reasons, emailed to the managers: Monday 08:00
# in the clinic's zone (TIME_ZONE, daylight saving included), not UTC like the above.
from metrics.schedules import ClinicCrontab  # noqa: E402

CELERY_BEAT_SCHEDULE["metrics-weekly-reason-report"] = {
    "task": "metrics.tasks.weekly_reason_report_task",
    "schedule": ClinicCrontab(hour=8, minute=0, day_of_week=1),
}

# --- Journey rules. ----------------------------------------------------------------------
JOURNEY_STALLED_AFTER_DAYS = env_int("JOURNEY_STALLED_AFTER_DAYS", 7)
JOURNEY_HANDOFF_GRACE_DAYS = env_int("JOURNEY_HANDOFF_GRACE_DAYS", 3)
PATIENT_LINK_MAX_AGE_DAYS = env_int("PATIENT_LINK_MAX_AGE_DAYS", 30)

# --- Authentication: email login, password + mandatory second factor. -------------------
AUTH_USER_MODEL = "staff.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "clinic_crm.staff.backends.StaffBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "staff:login"
LOGIN_REDIRECT_URL = "staff:home"
LOGOUT_REDIRECT_URL = "staff:login"

OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Clinic CRM")
OTP_TOTP_THROTTLE_FACTOR = 1  # seconds, doubled on every further failure
OTP_STATIC_THROTTLE_FACTOR = 1
OTP_BACKUP_CODE_COUNT = 10

# Failed passwords: lock the account and, separately, the IP address, with a cool-off.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "clinic_crm.staff.views.locked_out"
AXES_ENABLE_ACCESS_FAILURE_LOG = False
AXES_VERBOSE = False
# Number of reverse proxies in front of the app whose X-Forwarded-For is trusted.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXY_COUNT or None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR") if TRUSTED_PROXY_COUNT else ("REMOTE_ADDR",)
)

# Sessions live in the database so logout and expiry end them server-side; every request
# pushes the expiry forward, so SESSION_COOKIE_AGE is the idle timeout. However busy, a
# session ends SESSION_ABSOLUTE_LIFETIME_HOURS after its password login
# (clinic_crm.staff.middleware.SessionLifetimeMiddleware).
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_IDLE_TIMEOUT_MINUTES = env_int("SESSION_IDLE_TIMEOUT_MINUTES", 30)
SESSION_ABSOLUTE_LIFETIME_HOURS = env_int("SESSION_ABSOLUTE_LIFETIME_HOURS", 12)
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Security headers; production values make `check --deploy` silent. -----------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Content-Security-Policy (django-csp) and Permissions-Policy. ------------------------
# Everything is served by the app itself: no CDN, no third-party script, no inline script
# or event handler and no eval (HTMX runs with allowEval off, see base.html); behaviour
# lives in static/js/app.js, driven by data attributes.
# The one relaxation: inline style *attributes* (style-src-attr). The calendar places each
# visit with a grid-area computed per visit, and progress bars carry their width; these
# are values per row, not a fixed set of classes. An attribute can only style its own
# element: it has no selectors to read the page with, and anything it could fetch
# (url(…)) is still held to img-src/font-src 'self'. <style> elements and stylesheets stay
# 'self' only (style-src-elem falls back to style-src).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        # data: for Bootstrap's inline SVG icons in its CSS (navbar toggler, selects).
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Powerful browser features the CRM never uses, denied to the page and anything it embeds.
# Only names browsers recognise (Chromium logs an error for unknown ones, which the browser
# tests treat as a failure).
PERMISSIONS_POLICY = {
    feature: "()"
    for feature in (
        "accelerometer",
        "autoplay",
        "browsing-topics",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "hid",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
}

# --- REST API: session-authenticated, verified staff only. ------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["clinic_crm.staff.permissions.IsVerifiedStaff"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

# --- Internationalisation: Russian by default, English available. -----------------------
LANGUAGE_CODE = "ru"
LANGUAGES = [("ru", _("Russian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = env_str("TIME_ZONE", "Europe/Moscow")

# --- Static files: our own and the pinned npm packages, served by the app. -------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "var" / "static")))
WHITENOISE_AUTOREFRESH = DEBUG  # development: serve straight from the finders
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", BASE_DIR / "node_modules" / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", BASE_DIR / "node_modules" / "bootstrap-icons" / "font"),
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/chart.js", BASE_DIR / "node_modules" / "chart.js" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Email. -----------------------------------------------------------------------------
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Clinic CRM <noreply@clinic.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Patient messages (clinic_crm/messaging). ----------------------------------------------
# Links in messages (calendar, confirm, opt-out) start with this address.
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
CLINIC_NAME = env_str("CLINIC_NAME", "Clinic")
# Which backend sends each channel: "console" (development: printed to the worker's log),
# "file" (one file per message under MESSAGING_FILE_DIR), "off" (the channel is not used:
# patients are reached on their next channel), or the real one: "smtp" for email (Django's
# EMAIL_* settings above), "smsc" for SMS, "telegram" for Telegram. In production a channel
# whose credentials are not set is off.
SMSC_LOGIN = env_str("SMSC_LOGIN")
TELEGRAM_BOT_TOKEN = env_str("TELEGRAM_BOT_TOKEN")
MESSAGING_EMAIL_BACKEND = env_str("MESSAGING_EMAIL_BACKEND") or ("console" if DEBUG else "smtp")
MESSAGING_SMS_BACKEND = env_str("MESSAGING_SMS_BACKEND") or (
    "console" if DEBUG else ("smsc" if SMSC_LOGIN else "off")
)
MESSAGING_TELEGRAM_BACKEND = env_str("MESSAGING_TELEGRAM_BACKEND") or (
    "console" if DEBUG else ("telegram" if TELEGRAM_BOT_TOKEN else "off")
)
MESSAGING_FILE_DIR = env_str("MESSAGING_FILE_DIR", str(BASE_DIR / "var" / "messages"))
MESSAGING_HTTP_TIMEOUT = env_int("MESSAGING_HTTP_TIMEOUT", 10)
SMSC_API_URL = env_str("SMSC_API_URL", "https://smsc.ru/sys/send.php")
# SMSC's status interface; empty: status.php next to SMSC_API_URL.
SMSC_STATUS_URL = env_str("SMSC_STATUS_URL")
# How long SMSC refuses a repeated message id (error 9): a takeover inside it may resend.
SMSC_DUPLICATE_WINDOW_SECONDS = env_int("SMSC_DUPLICATE_WINDOW_SECONDS", 60)
SMSC_PASSWORD = env_str("SMSC_PASSWORD")
SMSC_SENDER = env_str("SMSC_SENDER")
TELEGRAM_API_URL = env_str("TELEGRAM_API_URL", "https://api.telegram.org")
# Secret part of the provider delivery-status callback address (/messages/callback/<token>/).
MESSAGING_CALLBACK_TOKEN = env_str("MESSAGING_CALLBACK_TOKEN")
# How long a dispatcher's claim on a message holds before another may take it over. The
# dispatcher renews it while it works (every third of it), so this is how soon a killed
# worker's messages are taken over: keep it well inside the shortest duplicate window of
# the channels in use (SMSC: 60 s), and at 1.5 x MESSAGING_HTTP_TIMEOUT or more.
MESSAGING_SEND_LEASE_SECONDS = env_int("MESSAGING_SEND_LEASE_SECONDS", 20)
# Marking arrival longer than this before the visit asks "really?" first.
VISIT_EARLY_ARRIVAL_MINUTES = env_int("VISIT_EARLY_ARRIVAL_MINUTES", 60)
# For this long after marking arrival, start or a no-show, the front desk can undo it.
VISIT_STATUS_UNDO_MINUTES = env_int("VISIT_STATUS_UNDO_MINUTES", 10)
MESSAGING_BATCH_SIZE = env_int("MESSAGING_BATCH_SIZE", 200)
# Provider calls a dispatcher makes at once (threads; they wait on the network).
MESSAGING_SEND_CONCURRENCY = env_int("MESSAGING_SEND_CONCURRENCY", 16)

# --- Feedback: the reception tablet (kiosk mode). ---------------------------------------
# Seconds without a touch after which the tablet sends what was answered and goes back to
# its start screen for the next patient.
KIOSK_IDLE_SECONDS = env_int("KIOSK_IDLE_SECONDS", 45)

# --- Metrics ---------------------------------------------------------------------------
# How long dashboards keep figures computed for a filter set (in the cache, until the
# rollups change anyway); 0 computes them on every page load.
METRICS_CACHE_SECONDS = env_int("METRICS_CACHE_SECONDS", 900)
# The NPS trend shows a week's or month's score only from this many answers (fewer: a gap
# saying "too few answers"), and chooses months when most weeks would fall short.
METRICS_TREND_MIN_SAMPLE = env_int("METRICS_TREND_MIN_SAMPLE", 30)

# --- Logging: no patient data. Query strings (search terms) are cut from request logs. --
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"strip_query": {"()": "clinic_crm.logging.StripQueryStringFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["strip_query"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.request": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        # The console channel's messages (development) show in the worker's log whatever
        # its level (WORKER_LOG_LEVEL, WARNING under `make run`).
        "clinic_crm.messaging.console": {"level": "INFO"},
        # httpx logs every provider request's address at INFO: not wanted in the logs.
        "httpx": {"level": "WARNING"},
    },
}
