"""Settings of the portal, read from the environment (one file for every deployment).

Every variable read here is documented in docs/configuration.md and listed in .env.example.
Defaults give the embedded demo: SQLite, a Celery broker on the filesystem, mail on the console.
"""

from pathlib import Path

import environ
import xstatic.pkg.bootstrap as xstatic_bootstrap
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)

if DEBUG:
    SECRET_KEY = env.str(
        "SECRET_KEY", default="insecure-demo-key-only-for-debug-mode-do-not-use-in-production"
    )
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
else:
    # Production must say these itself: a missing value stops the process at start-up.
    SECRET_KEY = env.str("SECRET_KEY")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
    if not SECRET_KEY or not ALLOWED_HOSTS:
        raise ImproperlyConfigured("SECRET_KEY and ALLOWED_HOSTS must be set (not empty) when DEBUG is off.")
# Old keys still accepted for signatures (sessions, reset links) while a new SECRET_KEY is rolled out.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://localhost:8000").rstrip("/")
SITE_ID = 1

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sites",
    "django.contrib.postgres",  # trigram and full-text lookups on PostgreSQL; inert on SQLite
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_prometheus",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    # Single sign-on (docs/sign-in.md): providers are enabled per site by configuring an app for them.
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.socialaccount.providers.saml",
    "allauth.socialaccount.providers.weixin",
    "allauth.socialaccount.providers.dingtalk",
    "allauth.socialaccount.providers.feishu",
    "core",
    "portal",
    "accounts",
    "compute",
    "projects",
    "alliance",
    "talent",
]

MIDDLEWARE = [
    # First and last: request latency by view for /metrics, the whole middleware stack included.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.csp.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # allauth.usersessions' activity tracking, written at most once a minute per session.
    "accounts.security.UserSessionsMiddleware",
    # Sees every answer of the two below and of the views: audits 403s, gives rate limits their 429.
    "accounts.security.SecurityEventsMiddleware",
    # A sign-in URL of a social provider the site has not configured is a 404, not a server error.
    "accounts.social.UnconfiguredProviderMiddleware",
    # The sign-in pages' CSP form-action also admits the configured identity providers (SAML, OpenID, ...).
    "accounts.social.SignInFormActionMiddleware",
    "core.middleware.StaffIdleTimeoutMiddleware",
    "core.middleware.StaffMFAMiddleware",
    "core.middleware.SupervisorReadOnlyMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

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
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.portal",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"),
}
# Connecting to PostgreSQL costs ~7 ms per request: keep connections open between requests.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
    # The directory's covering index (INCLUDE columns) is a PostgreSQL speed-up; SQLite builds it without them.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (allauth's rate limits live here: use a shared cache when there is more than one process) ----
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://portal")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["BACKEND"] = "core.cache.RedisCache"  # Django's, with one Redis client per pool
# A cache that every process shares (Redis, Memcached) may hold what must be the same everywhere: sessions and
# site roles. A per-process cache (the default) must not: a change made in one process would go unseen in another.
SHARED_CACHE = not CACHES["default"]["BACKEND"].endswith(("LocMemCache", "DummyCache"))
# People's site roles (operator, supervisor, ...) are read on every page: kept in a shared cache this many
# seconds, forgotten at once when their groups change (core/roles.py); 0 reads them from the database each time.
SITE_ROLES_CACHE_SECONDS = env.int("SITE_ROLES_CACHE_SECONDS", default=600 if SHARED_CACHE else 0)
# The page chrome (header, menus, footer) is rendered once per person, language and section and reused for this
# many seconds (core/chrome.py); 0 renders it on every page.
CHROME_CACHE_SECONDS = env.int("CHROME_CACHE_SECONDS", default=60)
# Kept page bodies read lately are rendered again by a Celery task after a change and each minute, so no visitor
# waits for them (core/pagecache.py: warm). Only with a shared cache: a worker's per-process cache reaches no
# web process.
KEPT_PAGES_WARM = env.bool("KEPT_PAGES_WARM", default=SHARED_CACHE)

# --- People ---------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "home"

# Mobile numbers are a login method and an optional sign-up field so that allauth's phone pages exist; the
# portal offers them only when SMS_BACKEND is set (accounts.phone_forms, the sign-in templates).
ACCOUNT_LOGIN_METHODS = {"email", "phone"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "phone", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupForm"
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_EMAIL_SUBJECT_PREFIX = env.str("EMAIL_SUBJECT_PREFIX", default="[AI Computing Center] ")
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if not DEBUG else "http"
ACCOUNT_ALLOW_SIGNUP = env.bool("ACCOUNT_ALLOW_SIGNUP", default=True)
ACCOUNT_RATE_LIMITS_ENABLED = env.bool("ACCOUNT_RATE_LIMITS_ENABLED", default=True)
if not ACCOUNT_RATE_LIMITS_ENABLED:
    ACCOUNT_RATE_LIMITS = False
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="AI Computing Center")
# Changing the email address, disabling MFA and creating an API token ask for the password (or an MFA code)
# again when the last sign-in is older than this many seconds; changing the password asks the old one.
ACCOUNT_REAUTHENTICATION_REQUIRED = True
ACCOUNT_REAUTHENTICATION_TIMEOUT = env.int("REAUTHENTICATION_TIMEOUT", default=300)
if ACCOUNT_RATE_LIMITS_ENABLED:
    # Per address ("ip"), per account ("key", the email) or per signed-in person ("user"); docs/security.md.
    # "login_failed" counts per address across accounts and per account *and address* (accounts.adapter), so
    # nobody can lock a person out from elsewhere; allauth applies it to MFA codes too (per account).
    ACCOUNT_RATE_LIMITS = {
        "login": "30/m/ip",
        "login_failed": "10/m/ip,5/5m/key",
        "signup": "10/10m/ip",
        "reset_password": "10/m/ip,3/10m/key",
        "reset_password_from_key": "20/m/ip",
        "reauthenticate": "10/m/user",
        "change_password": "5/m/user",
        "manage_email": "10/m/user",
    }
# Client addresses as the rate limits, sessions and the audit trail see them: behind N trusted proxies, the
# N-th address from the right of X-Forwarded-For; 0 uses the connection's address (REMOTE_ADDR). Behind the
# nginx of deploy/ (which overwrites X-Forwarded-For) that is 1: otherwise every client would share nginx's
# address, and one person's failures would count against everybody.
TRUSTED_PROXY_COUNT = env.int(
    "TRUSTED_PROXY_COUNT", default=1 if env.bool("BEHIND_TLS_PROXY", default=True) else 0
)
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
# Sessions: people see and end theirs (allauth.usersessions), with the last address and time each was seen.
USERSESSIONS_TRACK_ACTIVITY = True
# Operators and supervisors are signed out after this many minutes without a request (everyone else: the
# session cookie's age, SESSION_COOKIE_AGE).
STAFF_SESSION_IDLE_MINUTES = env.int("STAFF_SESSION_IDLE_MINUTES", default=30)
# API tokens: the lifetime a new token gets unless its owner chooses one, and the longest allowed.
API_TOKEN_DEFAULT_DAYS = env.int("API_TOKEN_DEFAULT_DAYS", default=90)
API_TOKEN_MAX_DAYS = env.int("API_TOKEN_MAX_DAYS", default=365)
# Security events an outsider can repeat at will (refusals, failed sign-ins, rate limits) are written once
# per person or address, path and reason in this many minutes.
AUDIT_DEDUP_MINUTES = env.int("AUDIT_DEDUP_MINUTES", default=10)
INVITATION_VALID_DAYS = env.int("INVITATION_VALID_DAYS", default=7)

# --- Mobile numbers and text messages (accounts/phones.py, accounts/sms/; docs/sign-in.md) ----------------
# The SMS gateway, as a dotted path (empty: no text messages, and no mobile-number sign-in is offered):
# accounts.sms.console.ConsoleSmsBackend, accounts.sms.file.FileSmsBackend, accounts.sms.aliyun.AliyunSmsBackend,
# accounts.sms.tencent.TencentSmsBackend. Its options (keys, sign name, endpoint) and the providers' template
# ids per message (login_code, verify_code, invitation) are JSON objects.
SMS_BACKEND = env.str("SMS_BACKEND", default="")
SMS_BACKEND_OPTIONS = env.json("SMS_BACKEND_OPTIONS", default={})
SMS_TEMPLATES = env.json("SMS_TEMPLATES", default={})
PHONE_DEFAULT_REGION = env.str("PHONE_DEFAULT_REGION", default="CN")  # numbers typed without +country code
# Codes sent by SMS: how long they are valid, and how many may be sent (allauth's rate format, counted
# atomically in the cache): per number, per client address, and for the whole site per day.
SMS_CODE_TIMEOUT = env.int("SMS_CODE_TIMEOUT", default=300)
SMS_RATE_PER_NUMBER = env.str("SMS_RATE_PER_NUMBER", default="1/m,5/h,10/d")
SMS_RATE_PER_ADDRESS = env.str("SMS_RATE_PER_ADDRESS", default="10/h,30/d")
SMS_RATE_PER_DAY = env.str("SMS_RATE_PER_DAY", default="2000/d")
ACCOUNT_LOGIN_BY_CODE_ENABLED = True  # by mobile number only (accounts.phone_forms.RequestLoginCodeForm)
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = SMS_CODE_TIMEOUT
ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS = 3
ACCOUNT_PHONE_VERIFICATION_TIMEOUT = SMS_CODE_TIMEOUT
ACCOUNT_PHONE_VERIFICATION_MAX_ATTEMPTS = 3
ACCOUNT_PHONE_VERIFICATION_SUPPORTS_RESEND = True
ACCOUNT_PHONE_VERIFICATION_CODE_FORMAT = {"numeric": True, "length": 6, "dashed": False}
ACCOUNT_FORMS = {
    "login": "accounts.phone_forms.LoginForm",
    "signup": "accounts.phone_forms.SignupForm",
    "request_login_code": "accounts.phone_forms.RequestLoginCodeForm",
}

# --- Universities through CARSI (SAML 2.0; accounts/carsi.py, docs/sign-in.md) ------------------------------
# allauth's SAML provider with the portal's security floor (signed assertions and responses, no SHA-1) and
# replay protection (each assertion ID used once). Each university is a SocialApp of provider "saml". Whoever
# adds other providers' settings: keep this "saml" entry in SOCIALACCOUNT_PROVIDERS.
SOCIALACCOUNT_PROVIDERS = {
    "saml": {"provider_class": "accounts.carsi.CarsiSAMLProvider"},
    # OpenID Connect providers are SocialApps of provider "openid_connect" (docs/sign-in.md); this class reads
    # the claims each app's settings name.
    "openid_connect": {"provider_class": "accounts.social.PortalOIDCProvider", "OAUTH_PKCE_ENABLED": True},
    # WeChat, DingTalk and Feishu (accounts/chinese_apps.py): each is a SocialApp of its provider; its settings'
    # "endpoints" may point the provider's URLs elsewhere (https, or a loopback host for tests).
    "weixin": {"provider_class": "accounts.chinese_apps.PortalWeixinProvider"},
    "dingtalk": {"provider_class": "accounts.chinese_apps.PortalDingTalkProvider"},
    "feishu": {"provider_class": "accounts.chinese_apps.PortalFeishuProvider"},
}
# --- Single sign-on in general (accounts/social.py) --------------------------------------------------------
SOCIALACCOUNT_ADAPTER = "accounts.social.SocialAccountAdapter"
# Never sign into, or link to, an existing account because an identity provider sent its email: the owner
# signs in first and links the provider from "Linked sign-ins".
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = False
# The providers' access and refresh tokens are not needed after the sign-in: not kept.
SOCIALACCOUNT_STORE_TOKENS = False
# A provider that does not answer within this many seconds is reported as unreachable.
SOCIALACCOUNT_REQUESTS_TIMEOUT = env.int("SSO_REQUESTS_TIMEOUT", default=5)

# --- Internationalisation -------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["portal.formats"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static files and uploads ---------------------------------------------------------------------
STATIC_URL = env.str("STATIC_URL", default="/static/")
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "var" / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static", ("vendor/bootstrap", xstatic_bootstrap.BASE_DIR)]
MEDIA_URL = env.str("MEDIA_URL", default="/media/")
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
STORAGES = {
    # Any Django storage backend by dotted path (for example storages.backends.s3.S3Storage), so web
    # processes keep no files of their own.
    "default": {
        "BACKEND": env.str("FILE_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"),
        "OPTIONS": env.json("FILE_STORAGE_OPTIONS", default={}),
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        ),
    },
}
MAX_LOGO_BYTES = env.int("MAX_LOGO_BYTES", default=1024 * 1024)
# Other pictures (course covers) and the pixel cap of every picture, checked from the image's header before
# anything is decoded (core.uploads: a decompression bomb is refused without being unpacked).
MAX_IMAGE_BYTES = env.int("MAX_IMAGE_BYTES", default=5 * 1024 * 1024)
UPLOAD_MAX_IMAGE_PIXELS = env.int("UPLOAD_MAX_IMAGE_PIXELS", default=4096 * 4096)
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)

# --- Mail: every message is written to the outbox with the change and delivered by a worker ---------
EMAIL_BACKEND = "core.mail.OutboxEmailBackend"
_delivery = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_DELIVERY_BACKEND = env.str("EMAIL_DELIVERY_BACKEND", default=_delivery["EMAIL_BACKEND"])
EMAIL_HOST = _delivery.get("EMAIL_HOST", "")
EMAIL_PORT = _delivery.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _delivery.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _delivery.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _delivery.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _delivery.get("EMAIL_USE_SSL", False)
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="AI Computing Center <noreply@aicc.example.cn>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
# A mail server that does not answer must not hold a worker (the outbox retries the mail later).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)

# --- Outbox and sweepers (docs/operations.md) --------------------------------------------------------
# The relay retries undelivered mails and tasks every OUTBOX_RELAY_SECONDS; a message that failed waits
# OUTBOX_RETRY_SECONDS, doubled after each failure, at most OUTBOX_RETRY_MAX_SECONDS.
OUTBOX_RELAY_SECONDS = env.int("OUTBOX_RELAY_SECONDS", default=30)
OUTBOX_RETRY_SECONDS = env.int("OUTBOX_RETRY_SECONDS", default=15)
OUTBOX_RETRY_MAX_SECONDS = env.int("OUTBOX_RETRY_MAX_SECONDS", default=900)
# Work that has not moved for STUCK_AFTER_MINUTES is stuck: the sweeper re-enqueues it every
# STUCK_SWEEP_MINUTES and the health page lists it.
STUCK_AFTER_MINUTES = env.int("STUCK_AFTER_MINUTES", default=10)
STUCK_SWEEP_MINUTES = env.int("STUCK_SWEEP_MINUTES", default=5)

# --- Celery ----------------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://localhost/")
CELERY_BROKER_FOLDER = Path(env.str("CELERY_BROKER_FOLDER", default=str(VAR_DIR / "broker")))
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport: a real broker that needs no server, for the one-command demo.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_FOLDER / "queue"),
        "data_folder_out": str(CELERY_BROKER_FOLDER / "queue"),
        "processed_folder": str(CELERY_BROKER_FOLDER / "processed"),
        "control_folder": str(CELERY_BROKER_FOLDER / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=3.0)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = env.str(
    "CELERY_BEAT_SCHEDULE_FILENAME", default=str(VAR_DIR / "celerybeat-schedule")
)
# The public transparency page's figures are made anew this often (portal/tasks.py), by beat, not by visitors.
TRANSPARENCY_REFRESH_MINUTES = 10
# Every periodic job of the portal, in one place.
CELERY_BEAT_SCHEDULE = {
    "seal-audit-trail": {
        "task": "core.tasks.seal_audit_trail_task",
        "schedule": crontab(minute="*/5"),
    },
    "relay-outbox": {
        "task": "core.tasks.relay_outbox_task",
        "schedule": OUTBOX_RELAY_SECONDS,
    },
    "sweep-stuck-work": {
        "task": "core.tasks.sweep_stuck_work_task",
        "schedule": STUCK_SWEEP_MINUTES * 60,
    },
    "expire-invitations": {
        "task": "accounts.tasks.expire_invitations_task",
        "schedule": crontab(minute=15),
    },
    "purge-saml-assertions": {
        "task": "accounts.tasks.purge_saml_assertions_task",
        "schedule": crontab(minute=25),
    },
    "ingest-usage": {
        "task": "compute.tasks.ingest_usage_task",
        "schedule": env.int("USAGE_INGEST_MINUTES", default=5) * 60,
    },
    "reconcile-cluster": {
        "task": "compute.tasks.reconcile_task",
        "schedule": crontab(minute=40),
    },
    "expire-allocations": {
        "task": "compute.tasks.expire_allocations_task",
        "schedule": crontab(hour=0, minute=20),
    },
    "open-started-allocations": {
        "task": "compute.tasks.sync_due_allocations_task",
        "schedule": crontab(minute="*/5"),
    },
    "remind-allocation-ends": {
        "task": "compute.tasks.send_end_reminders_task",
        "schedule": crontab(minute=50),
    },
    "settle-compute-usage": {
        "task": "compute.tasks.settle_usage_task",
        "schedule": crontab(day_of_month=3, hour=2, minute=0),
    },
    "recheck-alliance-memberships": {
        "task": "alliance.tasks.recheck_memberships_task",
        "schedule": crontab(hour=1, minute=10),
    },
    # The directory's facets and statistics are kept per day: computed for the new day before the first visitor.
    "warm-kept-pages": {
        "task": "core.tasks.warm_kept_pages_task",
        "schedule": crontab(minute="*"),  # a kept body's key holds the minute: ready as each one begins
    },
    "refresh-transparency": {
        "task": "portal.tasks.refresh_transparency_task",
        "schedule": crontab(minute=f"*/{TRANSPARENCY_REFRESH_MINUTES}"),
    },
    "warm-alliance-directory": {
        "task": "alliance.tasks.warm_directory_task",
        "schedule": crontab(hour=0, minute=1),
    },
    "remind-reviewers": {
        "task": "projects.tasks.send_review_reminders_task",
        "schedule": crontab(hour=8, minute=30),
    },
    "expire-seat-offers": {
        "task": "talent.tasks.expire_offers_task",
        "schedule": crontab(minute="*/10"),
    },
    "lock-due-cluster-identities": {
        "task": "compute.identities.tasks.lock_due_identities_task",
        "schedule": crontab(minute="*/10"),
    },
    "reconcile-directory": {
        "task": "compute.identities.tasks.reconcile_directory_task",
        "schedule": crontab(minute=45),
    },
    "expire-ssh-keys": {
        "task": "compute.identities.tasks.expire_ssh_keys_task",
        "schedule": crontab(minute="*/5"),
    },
}

# --- Cluster ---------------------------------------------------------------------------------------
# The cluster backend by dotted path, as Django chooses EMAIL_BACKEND: the fake in-memory cluster for the
# demo and unit tests, compute.backends.slurm.SlurmBackend in production (see docs/slurm.md).
CLUSTER_BACKEND = env.str("CLUSTER_BACKEND", default="compute.backends.fake.FakeBackend")
# The fake cluster keeps its state in a file so that the demo's web process, worker and beat share it.
CLUSTER_BACKEND_OPTIONS = env.json(
    "CLUSTER_BACKEND_OPTIONS",
    default={"state_file": str(VAR_DIR / "fake-cluster.json")}
    if CLUSTER_BACKEND.endswith("FakeBackend")
    else {},
)
# Several clusters: {"<cluster>": {"BACKEND": "<dotted path>", "OPTIONS": {...}}}; a cluster not listed here
# uses CLUSTER_BACKEND and CLUSTER_BACKEND_OPTIONS (compute/backends/__init__.py).
CLUSTERS = env.json("CLUSTERS", default={})
# With DEBUG off the portal refuses to start while any cluster uses the fake backend (compute/apps.py), unless
# this says the fake is wanted (a training or staging site, the benchmark): nothing would be provisioned.
ALLOW_FAKE_CLUSTER = env.bool("ALLOW_FAKE_CLUSTER", default=False)
# Reconcile reports an allocation whose usage in the portal and on the scheduler differ by more than the larger
# of these: units of the partition, and per cent of the scheduler's figure.
USAGE_DRIFT_TOLERANCE_UNITS = env.float("USAGE_DRIFT_TOLERANCE_UNITS", default=1.0)
USAGE_DRIFT_TOLERANCE_PERCENT = env.float("USAGE_DRIFT_TOLERANCE_PERCENT", default=2.0)
# Accounts whose names start with this belong to the portal; reconcile never touches any other.
CLUSTER_ACCOUNT_PREFIX = env.str("CLUSTER_ACCOUNT_PREFIX", default="aicc_")
# The center's page on logging in to the cluster, linked from the mails that give or change someone's access.
CLUSTER_LOGIN_INSTRUCTIONS_URL = env.str("CLUSTER_LOGIN_INSTRUCTIONS_URL", default="")
# --- Cluster identities (compute/identities/, docs/cluster-access.md) ----------------------------------
# The directory the cluster reads, by dotted path: the fake for the demo and unit tests,
# compute.identities.directory.ldap.LdapDirectory in production (options: see docs/configuration.md).
DIRECTORY_BACKEND = env.str("DIRECTORY_BACKEND", default="compute.identities.directory.fake.FakeDirectory")
DIRECTORY_BACKEND_OPTIONS = env.json(
    "DIRECTORY_BACKEND_OPTIONS",
    default={"state_file": str(VAR_DIR / "fake-directory.json")}
    if DIRECTORY_BACKEND.endswith("FakeDirectory")
    else {},
)
# uids (and the gids of the groups) come from this range; a number is never given twice.
CLUSTER_UID_MIN = env.int("CLUSTER_UID_MIN", default=100000)
CLUSTER_UID_MAX = env.int("CLUSTER_UID_MAX", default=199999)
CLUSTER_HOME_ROOT = env.str("CLUSTER_HOME_ROOT", default="/home")
CLUSTER_LOGIN_SHELL = env.str("CLUSTER_LOGIN_SHELL", default="/bin/bash")
CLUSTER_LOCKED_SHELL = env.str("CLUSTER_LOCKED_SHELL", default="/usr/sbin/nologin")
# Names nobody may choose (system accounts and words that would mislead), on top of the account prefix.
# fmt: off
CLUSTER_RESERVED_USERNAMES = set(
    env.list(
        "CLUSTER_RESERVED_USERNAMES",
        default=[
            "root", "admin", "administrator", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news",
            "uucp", "proxy", "www-data", "backup", "list", "irc", "nobody", "systemd-network", "sshd", "slurm",
            "munge", "openldap", "nslcd", "ldap", "postgres", "mysql", "redis", "operator", "support", "security",
            "staff", "guest", "test", "user", "ubuntu", "debian",
        ],
    )
)
# fmt: on


# Where people log in (shown on "My cluster access" with a copy-paste ssh line).
CLUSTER_LOGIN_HOST = env.str("CLUSTER_LOGIN_HOST", default="login.aicc.example")
CLUSTER_LOGIN_PORT = env.int("CLUSTER_LOGIN_PORT", default=22)
# A person who lost their last allocation keeps logging in this many days (to fetch results), then locks.
IDENTITY_LOCK_GRACE_DAYS = env.int("IDENTITY_LOCK_GRACE_DAYS", default=14)

# --- Jobs from the browser (compute/jobs/, docs/cluster-access.md) -----------------------------------------
# Where a job runs and writes its output: "{home}" is the person's home directory, "{username}" their name.
# The demo's pretend cluster writes its jobs' output under var/ as the portal's own user: there (and only with
# the fake cluster) the output's owner is not compared with the job's uid.
_FAKE_JOBS = CLUSTER_BACKEND.endswith("FakeBackend")
JOB_WORKING_DIRECTORY = env.str(
    "JOB_WORKING_DIRECTORY", default=str(VAR_DIR / "fake-homes" / "{username}") if _FAKE_JOBS else "{home}"
)
# The only directories whose files the portal reads as a job's output (on the portal host's mount of the
# cluster's shared filesystem); a path Slurm recorded outside them is never opened.
JOB_OUTPUT_ROOTS = env.list(
    "JOB_OUTPUT_ROOTS", default=[str(VAR_DIR / "fake-homes")] if _FAKE_JOBS else [CLUSTER_HOME_ROOT]
)
# A job's output file must belong to the job's uid (off only for the demo's pretend cluster, see above).
JOB_OUTPUT_OWNER_CHECK = env.bool("JOB_OUTPUT_OWNER_CHECK", default=not _FAKE_JOBS)
# How much of the end of an output file a job's page shows, and the largest file it offers for download.
JOB_OUTPUT_TAIL_BYTES = env.int("JOB_OUTPUT_TAIL_BYTES", default=64 * 1024)
JOB_OUTPUT_DOWNLOAD_MAX_BYTES = env.int("JOB_OUTPUT_DOWNLOAD_MAX_BYTES", default=200 * 1024 * 1024)
# Submissions allowed per person, and per organisation, in any hour.
JOB_SUBMISSIONS_PER_HOUR = env.int("JOB_SUBMISSIONS_PER_HOUR", default=30)
JOB_SUBMISSIONS_PER_HOUR_PER_ORGANISATION = env.int("JOB_SUBMISSIONS_PER_HOUR_PER_ORGANISATION", default=300)
# How long one answer of the scheduler (the queue of an organisation) is shared between its viewers.
JOB_QUEUE_CACHE_SECONDS = env.int("JOB_QUEUE_CACHE_SECONDS", default=10)
# A page polls the queue this often while a job is pending or running, for at most JOB_QUEUE_POLL_MINUTES.
JOB_QUEUE_POLL_SECONDS = env.int("JOB_QUEUE_POLL_SECONDS", default=5)
JOB_QUEUE_POLL_MINUTES = env.int("JOB_QUEUE_POLL_MINUTES", default=30)
# The largest batch script the portal accepts, from a template or written by a person (bytes).
JOB_SCRIPT_MAX_BYTES = env.int("JOB_SCRIPT_MAX_BYTES", default=64 * 1024)
USAGE_INGEST_MINUTES = env.int("USAGE_INGEST_MINUTES", default=5)
# Expired allocations stay blocked (no new jobs, data kept) this many days before they are closed.
ALLOCATION_CLOSE_AFTER_DAYS = env.int("ALLOCATION_CLOSE_AFTER_DAYS", default=7)
USAGE_LOOKBACK_HOURS = env.int("USAGE_LOOKBACK_HOURS", default=48)

# Compute vouchers: the most of a cost that stacked schemes (city + district) may pay together (1 = all).
VOUCHER_MAX_STACKED_RATIO = env.float("VOUCHER_MAX_STACKED_RATIO", default=1.0)

# --- Platforms -------------------------------------------------------------------------------------
# Incubation: the largest application attachment (PDF) accepted, in bytes.
PROJECT_ATTACHMENT_MAX_BYTES = env.int("PROJECT_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
# Incubation: reviewers are reminded of unfinished reviews from this many days before the review deadline.
PROJECT_REVIEW_REMINDER_DAYS = env.int("PROJECT_REVIEW_REMINDER_DAYS", default=3)
# Alliance: a membership past its end date stays current this many days (grace period) before it expires,
# and renewal reminders go out this many days before the end date.
ALLIANCE_GRACE_DAYS = env.int("ALLIANCE_GRACE_DAYS", default=30)
ALLIANCE_RENEWAL_REMINDER_DAYS = env.int("ALLIANCE_RENEWAL_REMINDER_DAYS", default=30)
# Talent: how long a seat offered from the waitlist is held for the person before it passes to the next.
TALENT_OFFER_HOLD_HOURS = env.int("TALENT_OFFER_HOLD_HOURS", default=48)

# --- REST API --------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so that a request without credentials is told how to authenticate (401).
        "accounts.authentication.ApiTokenAuthentication",
        "accounts.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "accounts.authentication.StaffMFARequired",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    # Documents the error answers of every operation too (400, 401, 403, 404, 409, 415, 429).
    "DEFAULT_SCHEMA_CLASS": "core.schema.PortalAutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
        "accounts.authentication.AddressRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/minute"),
        "user": env.str("API_THROTTLE_USER", default="600/minute"),
        "address": env.str("API_THROTTLE_ADDRESS", default="1200/minute"),
    },
    "NUM_PROXIES": TRUSTED_PROXY_COUNT or None,  # the throttles' client address, as allauth's
    "EXCEPTION_HANDLER": "core.exceptions.api_exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "AI Computing Center Portal API",
    "DESCRIPTION": "Public compute service, incubation, industry alliance and talent training.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Redoc is not served: its bundle always fetches a logo from the internet (closed network).
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},  # deep links nest a link inside a button (a11y)
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Choice sets that share a field name get names of their own (instead of a hash-suffixed one).
    "ENUM_NAME_OVERRIDES": {"ClusterIdentityStatusEnum": "compute.identities.models.IdentityStatus"},
}

# --- Security (secure by default whenever DEBUG is off) --------------------------------------------
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=True) else None
)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Probes and the Prometheus scrape reach the web hosts directly on the private network, in plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# /readyz: each check (database, broker, every cluster) answers within this many seconds or counts as failed;
# a cluster's answer is reused for READINESS_CACHE_SECONDS, so a flood of probes does not reach the controller.
READINESS_TIMEOUT = env.float("READINESS_TIMEOUT", default=5.0)
READINESS_CACHE_SECONDS = env.int("READINESS_CACHE_SECONDS", default=10)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy of every answer (core.csp.SecurityHeadersMiddleware): scripts and styles only from
# the portal's own files, never inline (no page has an inline script, style element or style attribute);
# data: images for Bootstrap's and Swagger UI's built-in icons; no plug-ins, no framing, forms post only here.
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
# Browser features no page uses are switched off for the portal and anything it could embed.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
}
SESSION_COOKIE_HTTPONLY = True
# Sessions live in the database so any web process can serve any request; with a shared cache they are also kept
# there (cached_db: read from the cache, written to both), which saves a query on every signed-in request.
SESSION_ENGINE = env.str(
    "SESSION_ENGINE",
    default="django.contrib.sessions.backends.cached_db"
    if SHARED_CACHE
    else "django.contrib.sessions.backends.db",
)

ADMINS = [tuple(a.split(":", 1)) for a in env.list("ADMINS", default=[]) if ":" in a]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Metrics (docs/operations.md: "Metrics and alerts") -------------------------------------------------
# /metrics answers only the bearer token or an allowed client address (addresses or networks, as the web sees
# them: REMOTE_ADDR); with neither set it does not exist (404).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
# A Celery worker serves its task metrics on this port (0: it does not) and address.
CELERY_METRICS_PORT = env.int("CELERY_METRICS_PORT", default=0)
CELERY_METRICS_ADDR = env.str("CELERY_METRICS_ADDR", default="127.0.0.1")

# Serves /bench/minimal, the yardstick view of the benchmark harness (bench/); off in real deployments.
BENCH_ENDPOINTS = env.bool("BENCH_ENDPOINTS", default=False)
