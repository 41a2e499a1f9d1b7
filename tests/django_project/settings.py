"""Settings of the test project. DJANGO_DB=postgres (Django's default database on PostgreSQL,
which Tasker then shares) or sqlite (Tasker in its own SQLite file, TASKER_URL)."""
import importlib.util
import os
from urllib.parse import urlsplit

SECRET_KEY = "tasker-tests-only"
DEBUG = True
USE_TZ = True
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "urls"
TEST_RUNNER = "tasker.contrib.django.testing.TaskerTestRunner"
LOGGING = {"version": 1, "disable_existing_loggers": False,   # the failures the tests cause on purpose
           "loggers": {name: {"level": "CRITICAL"} for name in ("tasker", "django.tasks", "django_tasks")}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "tasker.contrib.django",
    "shop",
]
if importlib.util.find_spec("django.tasks") is None:   # Django before 6: the backport
    INSTALLED_APPS.append("django_tasks")

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": ["django.contrib.auth.context_processors.auth",
                                       "django.contrib.messages.context_processors.messages",
                                       "django.template.context_processors.request"]},
}]

if os.environ.get("DJANGO_DB", "sqlite") == "postgres":
    server = urlsplit(os.environ["TASKER_TEST_DATABASE_URL"])
    DATABASES = {"default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("DJANGO_DB_NAME", "tasker_django"),
        "USER": server.username or "postgres",
        "PASSWORD": server.password or "",
        "HOST": server.hostname or "127.0.0.1",
        "PORT": server.port or 5432,
    }}
    TASKER = {"CONCURRENCY": 4}
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ.get("DJANGO_DB_NAME", "db.sqlite3")}}
    TASKER = {"URL": os.environ["TASKER_URL"], "CONCURRENCY": 4}

TASKS = {"default": {
    "BACKEND": "tasker.contrib.django.TaskerBackend",
    "QUEUES": ["default", "emails", "ranked"],
}}
