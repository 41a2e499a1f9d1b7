"""A small Django project on Tasker. Django's database: PostgreSQL when POSTGRES_URL is set
(Tasker then shares it, and its transactions), else SQLite (Tasker in tasker.db beside it)."""
import importlib.util
import os
from urllib.parse import urlsplit

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "urls"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
TEST_RUNNER = "tasker.contrib.django.testing.TaskerTestRunner"

INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
    "django.contrib.sessions", "django.contrib.messages",
    "tasker.contrib.django",
    "shop",
]
if importlib.util.find_spec("django.tasks") is None:   # Django 4.2 to 5.2: the django-tasks backport
    INSTALLED_APPS.append("django_tasks")
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True, "OPTIONS": {
    "context_processors": ["django.template.context_processors.request", "django.contrib.auth.context_processors.auth",
                           "django.contrib.messages.context_processors.messages"]}}]

if os.environ.get("POSTGRES_URL"):
    db = urlsplit(os.environ["POSTGRES_URL"])
    DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": db.path.lstrip("/"),
                             "USER": db.username or "", "PASSWORD": db.password or "",
                             "HOST": db.hostname or "", "PORT": db.port or ""}}
    TASKER = {"CONCURRENCY": 4}
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}
    TASKER = {"URL": os.environ.get("TASKER_URL", "sqlite:///tasker.db"), "CONCURRENCY": 4}

TASKS = {"default": {"BACKEND": "tasker.contrib.django.TaskerBackend"}}
