"""`tasker dashboard`: the command line entry to the web app."""
from __future__ import annotations

from click.testing import CliRunner
from webtools import http_status, running_dashboard

from tasker.cli import cli


def test_help_names_the_options():
    result = CliRunner().invoke(cli, ["dashboard", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--token", "--url", "TASKER_DASHBOARD_TOKEN"):
        assert option in result.output


def test_token_from_the_environment(app, store_url, tmp_path):
    app.create("t")
    with running_dashboard(store_url, tmp_path / "log", env={"TASKER_DASHBOARD_TOKEN": "env-t0ken"}) as base:
        assert http_status(base + "/api/stats") == 401
        assert http_status(base + "/api/stats", {"Authorization": "Bearer env-t0ken"}) == 200
        assert http_status(base + "/") == 401              # the sign-in page, even on loopback
    assert "loopback clients only" not in (tmp_path / "log").read_text()


def test_token_option_and_cron_secret(app, store_url, tmp_path):
    with running_dashboard(store_url, tmp_path / "log", "--token", "opt-t0ken", env={"TASKER_CRON_SECRET": "cr0n-s3cret"}) as base:
        assert http_status(base + "/api/stats", {"Authorization": "Bearer opt-t0ken"}) == 200
        assert http_status(base + "/api/tasks/cron", {"Authorization": "Bearer opt-t0ken"}) == 401
        assert http_status(base + "/api/tasks/cron", {"Authorization": "Bearer cr0n-s3cret"}) == 200
