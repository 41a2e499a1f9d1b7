"""A real browser (headless Chromium via Playwright) against `tasker dashboard` run as a subprocess:
filter the task list, open a task, cancel it with the button, and check the store."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from polling import wait_until
from webtools import running_dashboard

CHROMIUM_CANDIDATES = ["/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def find_chromium() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        found = candidate if os.path.isabs(candidate) and os.access(candidate, os.X_OK) else shutil.which(candidate)
        if found:
            return found
    return None


@pytest.fixture
def chromium() -> str:
    path = find_chromium()
    if path is None:
        pytest.skip("no Chromium found (looked for /usr/bin/chromium, chromium, chromium-browser, google-chrome); "
                    "scripts/test installs Debian's `chromium` when run as root")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install -e '.[test]')")
    return path


@pytest.fixture
def dashboard(app, store_url: str, tmp_path: Path):
    """`tasker dashboard` on a free loopback port, no credentials: loopback only."""
    with running_dashboard(store_url, tmp_path / "dashboard.log") as base:
        yield base


def test_filter_open_and_cancel_in_a_browser(app, store_kind, dashboard, chromium, output_dir):
    from playwright.sync_api import expect, sync_playwright

    @app.handler("sendWebhook", max_attempts=2, retry_delay=0)
    def send_webhook(payload):
        if payload.get("fail"):
            raise ConnectionError(f"POST {payload['url']} -> 502 Bad Gateway")
        return {"status": 200}

    @app.handler("resizeImage", queue="media")
    def resize(payload):
        return {"width": 640}

    for n in range(12):
        app.create("sendWebhook", {"url": f"https://example.com/hooks/{n}", "fail": n % 5 == 0}, meta={"tenant": "acme"})
    for n in range(8):
        app.create("resizeImage", {"image": f"photo_{n}.png", "size": [1920, 1080]})
    app.process_queue()
    app.process_queue()
    target = app.create("sendWebhook", {"url": "https://example.com/hooks/later"}, delay=3600, queue="webhooks")
    app.create("sendEmail", {"to": "ada@example.com"}, delay=600, queue="emails")
    app.create("<script>alert(1)</script>", {"x": '"><img src=x onerror=alert(1)>'})
    app.schedule_every("*/5 * * * *", "syncInventory", name="inventory-sync")
    app.pause_queue("emails")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("dialog", lambda d: problems.append(f"unexpected dialog: {d.message}"))

            page.goto(dashboard + "/")
            expect(page).to_have_title(re.compile("Overview"))
            expect(page.locator(".card.queued .count")).to_have_text("3")
            page.screenshot(path=str(output_dir / ("dashboard.png" if store_kind == "sqlite" else f"dashboard-{store_kind}.png")),
                            full_page=True)

            page.get_by_role("link", name="Tasks", exact=True).click()
            page.locator("select[name=status]").select_option("queued")
            page.locator("input[name=type]").fill("sendWebhook")
            page.get_by_role("button", name="Filter").click()
            page.wait_for_url(re.compile(r"status=queued.*type=sendWebhook"))
            rows = page.locator("table.tasks tbody tr")
            expect(rows).to_have_count(1)
            expect(rows.first.locator("td.type")).to_have_text("sendWebhook")

            page.get_by_role("link", name=target).click()
            page.wait_for_url(re.compile(re.escape(f"/tasks/{target}")))
            expect(page.locator("h1 .badge")).to_have_text("queued")
            expect(page.locator("pre.json").first).to_contain_text("https://example.com/hooks/later")

            page.get_by_role("button", name="Cancel").click()
            expect(page.locator(".notice")).to_have_text("Task cancelled.")
            expect(page.locator("h1 .badge")).to_have_text("cancelled")
            wait_until(lambda: app.get(target).status.value == "cancelled", timeout=5, message="the task cancelled in the store")
            page.screenshot(path=str(output_dir / f"dashboard-task-{store_kind}.png"), full_page=True)

            if store_kind == "sqlite":  # auto-refresh (every 5 s): a new task shows up without a reload
                page.goto(dashboard + "/")
                app.create("sendWebhook", {"url": "https://example.com/hooks/new"})
                expect(page.locator(".card.queued .count")).to_have_text("3", timeout=12_000)
                expect(page.locator(".card.total .count")).to_have_text("24")

            assert problems == [], problems  # CSP violations and script errors land here
        finally:
            browser.close()
