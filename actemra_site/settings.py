"""Settings for the ACTEMRA bedside dosing app.

Every setting that differs between a laptop and production comes from a `DJANGO_`-prefixed
environment variable (or `DATABASE_URL`). Debug is off unless asked for; with debug off a missing
secret key stops the start rather than running with a guessable one.
"""

from __future__ import annotations

import json
import os
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
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "actemra_site.urls"
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

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Rate-limit counters (the rules snapshot is kept in process memory, see dosing/content.py).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
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
TIME_ZONE = "UTC"
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
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Strict CSP: nothing inline, nothing from elsewhere. The API docs page is the one exception,
# relaxed in dosing/api docs view only for what Swagger UI needs (see actemra_site/urls.py).
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

# Calculate requests per client IP and minute; a busy ward's shared NAT stays far below it.
DOSING_CALCULATE_RATE = os.environ.get("DJANGO_CALCULATE_RATE", "600/m")
# The counters live in the default cache. LocMemCache is per process, so with N gunicorn
# workers a client gets up to N times the rate: enough to stop a runaway client, and a shared
# cache (Redis, memcached) is the change to make if the limit must be exact.
RATELIMIT_USE_CACHE = "default"

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
