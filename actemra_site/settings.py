"""Settings for the ACTEMRA bedside dosing app.

Every setting that differs between a laptop and production comes from a `DJANGO_`-prefixed
environment variable (or `DATABASE_URL`). Debug is off unless asked for; with debug off a missing
secret key stops the start rather than running with a guessable one.
"""

from __future__ import annotations

import json
import os
import zoneinfo
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, *, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, *, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def _required(name: str) -> str:
    raise ImproperlyConfigured(f"{name} must be set when DJANGO_DEBUG is off.")


# Used only with DJANGO_DEBUG=1 on a developer's machine; production must supply its own.
DEV_KEY = "django-insecure-local-development-only-not-for-production"  # noqa: S105

DEBUG = env_bool("DJANGO_DEBUG", default=False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or (
    DEV_KEY if DEBUG else _required("DJANGO_SECRET_KEY")
)
ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "axes",
    "csp",
    "django_htmx",
    "ninja",
    "simple_history",
    "template_partials",
    "dosing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "actemra_site.faults.FaultsMiddleware",
    # Django's session, auth and messages middleware, skipped on the stateless API paths,
    # where nothing reads them (actemra_site/stateless.py).
    "actemra_site.stateless.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "actemra_site.stateless.AuthenticationMiddleware",
    "actemra_site.stateless.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "actemra_site.csp.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its 429 answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "actemra_site.urls"
# Request bodies past 1 MiB are refused (413 in JSON under the API). The largest real one, a CDS
# Hooks order-sign with its prefetch, is a few KB. deploy/nginx.conf's client_max_body_size is
# the same 1m, so the proxy and the app refuse the same bodies (tests/test_proxy.py).
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
WSGI_APPLICATION = "actemra_site.wsgi.application"

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
            ],
            # A builtin, so the move to Django 6.0's own partials is a settings change.
            "builtins": ["template_partials.templatetags.partials"],
        },
    }
]

# Persistent connections, checked before reuse: a restarted database is reconnected to by the
# next request instead of failing on a dead connection.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # An unreachable database host answers 503 in seconds, not after the kernel's TCP timeout.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# REDIS_URL makes the cache shared by every instance: rate-limit counters and the live content
# version (dosing/content.py). Redis down degrades to per-process counters and database reads
# with a warning logged, never a 500 (actemra_site/cache.py). Without it: local memory.
REDIS_URL = os.environ.get("REDIS_URL", "")
DOSING_SHARED_CACHE = bool(REDIS_URL)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "actemra_site.cache.FailSoftRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "actemra",
            # Short timeouts: a cache that hangs would hold every request with it.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "actemra_site.cache.LocalCache",
            "LOCATION": "actemra",
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# The site's zone (IANA name): what the page's clocks, "not before" and use-by times are said in
# (without JavaScript as with it). A name the zone database lacks stops the start.
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "UTC")
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError) as _error:
    raise ImproperlyConfigured(f"DJANGO_TIME_ZONE: unknown time zone {TIME_ZONE!r}") from _error
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "actemra_site.storage.StaticStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Security: HTTPS everywhere in production. DJANGO_SECURE_SSL_REDIRECT=0 suits a proxy that
# terminates TLS and redirects itself; DJANGO_SECURE_PROXY_SSL_HEADER=1 trusts X-Forwarded-Proto.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = int(
    os.environ.get("DJANGO_SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000")
)
# Opt-in: preload puts the domain in browsers' built-in lists, which takes months to undo, and
# includeSubDomains binds every other site under the domain. The deploy check warns about both
# (W005, W021); leaving them off is a decision, so those two warnings are silenced only then.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = [
    check
    for check, opted_in in (
        ("security.W005", SECURE_HSTS_INCLUDE_SUBDOMAINS),
        ("security.W021", SECURE_HSTS_PRELOAD),
    )
    if not opted_in
]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True


def _session_hours() -> int:
    """Only content admins sign in: a session lasts a working shift, not Django's 14 days."""
    value = os.environ.get("DJANGO_ADMIN_SESSION_HOURS", "10")
    hours = int(value) if value.isdecimal() else 0
    if not 8 <= hours <= 12:
        raise ImproperlyConfigured(
            f"DJANGO_ADMIN_SESSION_HOURS must be a whole number of hours from 8 to 12 (a working "
            f"shift), not {value!r}."
        )
    return hours


SESSION_COOKIE_AGE = _session_hours() * 3600
# Publishing and rolling back ask for the reviewer's password again once this long has passed
# since they last gave it (signing in, or an earlier publish).
DOSING_REAUTH_MINUTES = 5
X_FRAME_OPTIONS = "DENY"

# Strict CSP: nothing inline, nothing from elsewhere, the API docs page included (ninja serves
# Swagger UI from local static files). Built once per process: actemra_site/csp.py.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "manifest-src": [SELF],
        "worker-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# The public API answers any origin, never with credentials (cookies are not needed to read
# content or calculate). CDS Hooks services too: the specification asks them to allow
# browser-based CDS clients (sandboxes, SMART apps); their JWT travels in Authorization.
CORS_URLS_REGEX = r"^/(api/|cds-services(/|$))"
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_CREDENTIALS = False
CORS_EXPOSE_HEADERS = ["ETag", "Retry-After"]

# Client addresses: the number of proxies in front of the app that append to X-Forwarded-For
# (a load balancer, a TLS proxy). 0: the header is ignored and REMOTE_ADDR is the client. One
# helper (actemra_site/client_ip.py) serves the rate limits and the login lockout.
TRUSTED_PROXIES = int(os.environ.get("DJANGO_TRUSTED_PROXIES", "0"))

# Calculate requests (API and the HTML calculator together) per client address and minute; a
# busy ward's shared NAT stays far below it. Counted in the default cache (dosing/ratelimit.py):
# exact across instances with REDIS_URL, per process without it. With the cache unreachable the
# limit opens rather than refusing every calculation.
DOSING_CALCULATE_RATE = os.environ.get("DJANGO_CALCULATE_RATE", "600/m")

# The product a calculation is for when the request names none (issue 23): a product's slug
# (actemra, tofidence, tyenne, avtozma), for a site whose formulary default is a biosimilar.
DOSING_DEFAULT_PRODUCT = os.environ.get("DJANGO_DEFAULT_PRODUCT", "actemra")

# Admin login lockout (django-axes): after DJANGO_LOGIN_FAILURE_LIMIT failures for one user
# name, or from one address, logins are refused (429) for DJANGO_LOGIN_COOLOFF_MINUTES.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("DJANGO_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("DJANGO_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own, not the pair
AXES_CLIENT_IP_CALLABLE = "actemra_site.client_ip.client_ip"
AXES_RESET_ON_SUCCESS = True

# Calculator inputs are patient data: they are never logged. Django's request logging records
# only method, path and status, and the calculator posts (no figures in URLs).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "WARNING")},
}

# CDS Hooks (dosing/interop): the EHRs allowed to call, with their public keys, from a JSON file:
# [{"iss": "https://ehr.example.org", "sub": "client-id", "jwks": {"keys": [...]}}] ("sub" and
# "jku" optional). Keys are never fetched over the network. DJANGO_CDS_ALLOW_UNSIGNED=1 accepts
# requests without a JWT: development and tests only (check --deploy warns).
CDS_ALLOW_UNSIGNED = env_bool("DJANGO_CDS_ALLOW_UNSIGNED", default=False)
_cds_clients_file = os.environ.get("DJANGO_CDS_CLIENTS_FILE", "")
CDS_CLIENTS = json.loads(Path(_cds_clients_file).read_text()) if _cds_clients_file else []
