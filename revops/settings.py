"""Django settings for revops; everything deployment-specific comes from the environment."""
from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
import plotly

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG", True)
# The development default is only accepted while DEBUG is on; production must set SECRET_KEY.
SECRET_KEY = os.environ.get("SECRET_KEY") or (
    "dev-insecure-revops-key-change-me" if DEBUG else ""
)
if not SECRET_KEY:
    raise RuntimeError("SECRET_KEY must be set when DEBUG is off")

ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "*" if DEBUG else "").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "template_partials",
    "django_celery_beat",
    "axes",
    "revops",
    "territories",
    "quotas",
    "forecasting",
    "commissions",
    "rcm_feeds",
    "contracts",
    "intake",
    "analytics",
    "scenarios",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "revops.middleware.TenantMiddleware",
    # AxesMiddleware last, as django-axes documents.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "revops.urls"
WSGI_APPLICATION = "revops.wsgi.application"

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
                "revops.context_processors.tenancy",
            ],
        },
    },
]

# The application connects as a role that is neither superuser nor BYPASSRLS (bin/services.py
# creates it), so Postgres row-level security applies to every query it sends.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", "postgres://revops:revops@127.0.0.1:5432/revops"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
        engine="revops.dbbackend",
    )
}
# Postgres JIT compiles any plan the planner thinks expensive. On this product's reporting joins the estimates
# are poor, and compiling cost seconds before the first row (docs/benchmarks.md: the KPI refresh, scenarios, the
# executive dashboard's program profitability), so it is off for the application's connections. DB_JIT=on
# restores the server's setting.
if os.environ.get("DB_JIT", "off") != "on":
    _db_options = DATABASES["default"].setdefault("OPTIONS", {})
    _db_options["options"] = f"{_db_options.get('options', '')} -c jit=off".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        # pytest-xdist workers share one Redis: keep their keys apart.
        "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "revops") + os.environ.get("PYTEST_XDIST_WORKER", ""),
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sessions and CSRF: cookies are HttpOnly; secure flags follow DEBUG.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_AGE = 60 * 60 * 12
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# Login rate limit (django-axes): 5 failures per username+IP lock that pair for 15 minutes.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_ENABLED = env_bool("AXES_ENABLED", True)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# plotly.js is served from the plotly package's own copy, never a CDN.
STATICFILES_DIRS = [("plotly", Path(plotly.__file__).parent / "package_data")]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))
# RCM feed inboxes: <RCM_INBOX_ROOT>/<organization id>/<feed.inbox_dir>/, polled by Celery beat.
RCM_INBOX_ROOT = Path(os.environ.get("RCM_INBOX_ROOT", BASE_DIR / "var" / "inbox"))
# A file modified less than this many seconds ago may still be being written: left for the next poll.
RCM_INBOX_SETTLE_SECONDS = int(os.environ.get("RCM_INBOX_SETTLE_SECONDS", "10"))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "revops.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["revops.access.MatrixPermission"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "revops API",
    "DESCRIPTION": (
        "Tenant-scoped REST API of the revops revenue command center. Authenticate with an "
        "organization API key (`Authorization: Api-Key <key>`) or a browser session."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1/",
    # Swagger UI and ReDoc come from drf-spectacular-sidecar's static files, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "persistAuthorization": False},
    # Two models have a field called "role" with different choices; name their enums apart.
    "ENUM_NAME_OVERRIDES": {
        "MembershipRoleEnum": "revops.models.access.Role",
        "PersonRoleEnum": "revops.models.reference.PersonRole",
        "CreditedTransactionKindEnum": "quotas.models.TransactionKind",
        "CommissionPeriodStatusEnum": "commissions.models.PeriodStatus",
        "CommissionRunStatusEnum": "commissions.models.RunStatus",
        "CommissionStatementStatusEnum": "commissions.models.StatementStatus",
        "CommissionDisputeStatusEnum": "commissions.models.DisputeStatus",
        "CommissionVersionStatusEnum": "commissions.models.VersionStatus",
        "ContractKindEnum": "contracts.models.ContractKind",
        "ContractVersionStatusEnum": "contracts.models.VersionStatus",
        "ContractTermKindEnum": "contracts.models.TermKind",
        "ContractCaseRateBasisEnum": "contracts.models.CaseRateBasis",
        "ContractExpectationStatusEnum": "contracts.models.ExpectationStatus",
        "ContractSourceEnum": "contracts.models.ContractSource",
        "ContractRecommendationEnum": "contracts.models.Recommendation",
        "ProgramCostCategoryEnum": "intake.models.ProgramCostCategory",
        "AuthorizationUnitKindEnum": "intake.models.UnitKind",
        "IntakeDecisionEnum": "intake.models.IntakeDecision",
        "SnapshotKindEnum": "analytics.models.SnapshotKind",
        "SavedScenarioKindEnum": "scenarios.models.ScenarioKind",
        "CommissionComponentKindEnum": "commissions.models.ComponentKind",
        "CommissionLineKindEnum": "commissions.models.LineKind",
        "CommissionCreditRuleKindEnum": "commissions.models.CreditRuleKind",
        "CommissionCreditRoleEnum": "commissions.models.CreditRole",
    },
}

# Celery: thin tasks, JSON only, acknowledged after they finish so a lost worker re-runs them.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE

# Patient identifiers are stored only as an HMAC with this pepper plus a per-organization salt.
PHI_HASH_PEPPER = os.environ.get("PHI_HASH_PEPPER", SECRET_KEY)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
