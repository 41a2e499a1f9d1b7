"""Tasker's web side: dashboard, JSON API, cron endpoints and Prometheus metrics.

One ASGI app (Starlette) that reads and controls a ``Tasker``. Run it alone::

    tasker dashboard --url postgresql://app@127.0.0.1/app --port 8080

or mount it in your own Starlette or FastAPI application::

    import os

    from fastapi import FastAPI
    from tasker import Tasker
    from tasker.web import create_app

    tasks = Tasker("postgresql://app@127.0.0.1/app")
    api = FastAPI()
    api.mount("/tasker", create_app(tasks, token=os.environ["TASKER_DASHBOARD_TOKEN"],
                                    cron_secret=os.environ["TASKER_CRON_SECRET"]))

Then ``/tasker/`` is the dashboard, ``/tasker/api/...`` the JSON API (OpenAPI
document at ``/tasker/api/openapi.json``), ``/tasker/api/tasks/cron`` and
``/tasker/api/tasks/cleanup`` the cron endpoints (``Authorization: Bearer
<cron secret>``), and ``/tasker/metrics`` the Prometheus metrics.

Who may call: with neither ``token`` nor ``basic_auth``, only loopback clients
(browsing ``localhost``) are served. Once either is configured it is required
from every client, loopback included, so a reverse proxy on the same host
cannot open the dashboard to the world. Browsers sign in at ``/login`` with
the token (or answer the basic-auth prompt); scripts send
``Authorization: Bearer <token>``. Writes authenticated by anything a browser
sends by itself (cookie, basic auth, loopback) need the page's CSRF token (form
field ``csrf_token`` or header ``X-CSRF-Token``); bearer-token writes do not.
A mounted app's lifespan does not run: close the Tasker from your own
(``await tasks.aclose()``).
"""
from .app import create_app

__all__ = ["create_app"]
