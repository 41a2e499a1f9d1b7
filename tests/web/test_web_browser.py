"""A real browser (headless Chromium via Playwright) against `tasker dashboard` run as a subprocess:
filter the task list, page back through it, act on a selection in bulk, open and cancel a task;
watch a running task's progress and status arrive in place; workers, schedules and the phone
layout. Screenshots go to the test output directory (``output_dir``)."""
from __future__ import annotations

import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from polling import wait_until
from webtools import running_dashboard

CHROMIUM_CANDIDATES = ["/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 400, "height": 860}
LIVE = 12_000   # ms to wait for a live update (one comes every 3 s)


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


@pytest.fixture
def browser(chromium):
    """A page factory on one headless Chromium; each page records script errors, CSP violations
    and unexpected dialogs in ``problems`` (asserted empty at the end)."""
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=ARGS)

        def new_page(viewport=DESKTOP):
            page = launched.new_page(viewport=viewport)
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("dialog", lambda d: problems.append(f"unexpected dialog: {d.message}"))
            return page

        try:
            yield new_page
        finally:
            launched.close()
    assert problems == [], problems


def shot(page, output_dir: Path, name: str, store_kind: str) -> None:
    page.screenshot(path=str(output_dir / f"dashboard-{name}-{store_kind}.png"), full_page=True)


def fits(page) -> bool:
    """Nothing wider than the window: the page never scrolls sideways."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth && document.body.scrollWidth <= window.innerWidth")


def ids_shown(page) -> list[str]:
    return page.locator("#task-rows tr").evaluate_all("rows => rows.map(r => r.dataset.key)")


def test_filter_page_bulk_and_cancel_in_a_browser(app, store_kind, dashboard, browser, output_dir):
    from playwright.sync_api import expect

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
    reports = app.create_many("buildReport", [{"month": n} for n in range(60)], delay=3600, queue="reports")
    target = app.create("sendWebhook", {"url": "https://example.com/hooks/later"}, delay=3600, queue="webhooks")
    app.create("<script>alert(1)</script>", {"x": '"><img src=x onerror=alert(1)>'})
    app.schedule_every("*/5 * * * *", "syncInventory", name="inventory-sync")
    app.pause_queue("reports")
    failed = {t.id for t in app.list(status="failed")}
    assert len(failed) == 3

    page = browser()
    page.goto(dashboard + "/")
    expect(page).to_have_title(re.compile("Overview"))
    expect(page.locator(".card.queued .count")).to_have_text("62")
    shot(page, output_dir, "overview", store_kind)

    # Filters: status and type through the form; the error column says what went wrong.
    page.get_by_role("link", name="Tasks", exact=True).click()
    page.locator("select[name=status]").select_option("failed")
    page.locator("input[name=type]").fill("sendWebhook")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"status=failed.*type=sendWebhook"))
    expect(page.locator("#task-rows tr")).to_have_count(3)
    expect(page.locator("#task-rows td.error").first).to_contain_text("ConnectionError: POST https://example.com/hooks/")
    assert set(ids_shown(page)) == failed
    page.locator("input[name=error]").fill("HOOKS/5 ")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#task-rows tr")).to_have_count(1)
    expect(page.locator("#task-rows td.error")).to_contain_text("hooks/5 -> 502")
    shot(page, output_dir, "tasks-filtered", store_kind)

    # Real pages: 50 at a time, older ones after the cursor, never the same task twice.
    page.goto(dashboard + "/tasks?queue=reports&limit=50")
    expect(page.locator("#task-rows tr")).to_have_count(50)
    first = ids_shown(page)
    page.get_by_role("link", name="Older »").click()
    page.wait_for_url(re.compile(r"after="))
    expect(page.locator("#task-rows tr")).to_have_count(10)
    assert first + ids_shown(page) == reports[::-1]
    expect(page.get_by_role("link", name="Older »")).to_have_count(0)
    page.get_by_role("link", name="« Newest").click()
    expect(page.locator("#task-rows tr")).to_have_count(50)

    # Bulk on every matching task: a count, a confirmation, then how many changed.
    page.goto(dashboard + "/tasks?status=failed")
    page.get_by_role("button", name="Retry…").click()
    expect(page.locator("h1")).to_have_text("Retry 3 tasks?")
    expect(page.locator(".confirm")).to_contain_text("Of the 3 tasks matching status failed")
    page.get_by_role("button", name="Retry 3 tasks").click()
    expect(page.locator(".notice")).to_have_text("3 tasks retried.")
    wait_until(lambda: all(app.get(i).status.value == "queued" for i in failed), timeout=5, message="retried in the store")
    expect(page.locator("#task-rows tr")).to_have_count(0)

    # Bulk on ticked tasks: the bar counts them; cancelling them skips what cannot be cancelled.
    page.goto(dashboard + "/tasks?type=buildReport&limit=50")
    selected = page.locator("#bulk [data-needs-selection]").first
    expect(selected).to_be_disabled()
    boxes = page.locator("#task-rows input[type=checkbox]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    expect(page.locator("#selected-count")).to_have_text("2 ticked:")
    expect(page.locator("#live-state")).to_have_text("paused while tasks are ticked")
    page.locator("#bulk").get_by_role("button", name="Cancel", exact=True).click()
    expect(page.locator("h1")).to_have_text("Cancel 2 tasks?")
    page.get_by_role("button", name="Cancel 2 tasks").click()
    expect(page.locator(".notice")).to_have_text("2 tasks cancelled.")
    assert [app.get(i).status.value for i in reports[-2:]] == ["cancelled", "cancelled"]
    assert app.count(type="buildReport", status="queued") == 58

    # One task: open it from the list and cancel it with its button.
    page.goto(dashboard + "/tasks?status=queued&type=sendWebhook&queue=webhooks")
    page.get_by_role("link", name=target).click()
    page.wait_for_url(re.compile(re.escape(f"/tasks/{target}")))
    expect(page.locator("h1 .badge")).to_have_text("queued")
    expect(page.locator("pre.json").first).to_contain_text("https://example.com/hooks/later")
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator(".notice")).to_have_text("Task cancelled.")
    expect(page.locator("h1 .badge")).to_have_text("cancelled")
    wait_until(lambda: app.get(target).status.value == "cancelled", timeout=5, message="the task cancelled in the store")
    shot(page, output_dir, "task", store_kind)


def test_live_progress_workers_schedules_and_phones_in_a_browser(app, store_kind, dashboard, browser, output_dir):
    from playwright.sync_api import expect

    release = threading.Event()

    @app.handler("renderVideo", queue="media")
    def render_video(payload, ctx):
        ctx.progress({"done": 3, "total": 10, "stage": "encoding"})
        release.wait(30)
        return {"frames": 10}

    @app.handler("syncInventory")
    def sync_inventory(payload):
        return payload

    series = app.schedule_every("*/5 * * * *", "syncInventory", {"warehouse": "north", "full": True}, name="inventory-sync")
    app.create("noWorkerForThis", {"n": 1})
    worker = threading.Thread(target=app.run_worker, kwargs={"concurrency": 2, "heartbeat_interval": 0.3}, daemon=True)
    worker.start()
    try:
        page = browser()
        page.goto(dashboard + "/tasks")
        page.evaluate("window.loadedOnce = true")   # gone if the page were reloaded
        video = app.create("renderVideo", {"id": 7})
        row = page.locator(f'#task-rows tr[data-key="{video}"]')
        expect(row.locator("svg.progress")).to_be_visible(timeout=LIVE)   # arrived and running, in place
        expect(row.locator("td.state")).to_contain_text("3 of 10 · encoding")
        expect(row.locator(".badge")).to_have_text("running")
        shot(page, output_dir, "tasks-live", store_kind)

        page.goto(dashboard + "/workers")
        expect(page.locator("table.workers")).to_contain_text("renderVideo")
        expect(page.locator("td.current")).to_contain_text("3 of 10 · encoding")
        expect(page.locator(".notice.error")).to_contain_text("noWorkerForThis")
        shot(page, output_dir, "workers", store_kind)

        page.goto(dashboard + "/tasks")
        page.evaluate("window.loadedOnce = true")
        release.set()
        expect(page.locator(f'#task-rows tr[data-key="{video}"] .badge')).to_have_text("succeeded", timeout=LIVE)
        expect(page.locator(f'#task-rows tr[data-key="{video}"] td.error')).to_have_text("")
        assert page.evaluate("window.loadedOnce") is True, "updated in place, not reloaded"

        page.goto(dashboard + "/schedules")
        expect(page.locator(f'tr[data-key="{series}"] td.payload')).to_contain_text('"warehouse":"north"')
        shot(page, output_dir, "schedules", store_kind)
        page.locator(f'tr[data-key="{series}"]').get_by_role("button", name="Run now").click()
        expect(page.locator(".notice")).to_have_text("A run of its series was queued, due now.")
        run = page.url.rsplit("/", 1)[-1].split("?")[0]
        assert app.get(run).series_id == series
        wait_until(lambda: app.get(run).status.value == "succeeded", timeout=10, message="the run done by the worker")
        page.get_by_role("link", name="its runs").click()
        # The run made now is listed; a five-minute tick falling inside the test adds a second.
        expect(page.locator(f'#task-rows tr[data-key="{run}"]')).to_have_count(1)
        assert page.locator("#task-rows tr").count() == app.count(series_id=series)
        expect(page.locator(".chips .chip.on").last).to_contain_text("Runs of inventory-sync")

        phone = browser(PHONE)
        for name, path in [("overview", "/"), ("tasks", "/tasks"), ("workers", "/workers"), ("schedules", "/schedules"),
                           ("task", f"/tasks/{video}")]:
            phone.goto(dashboard + path)
            assert fits(phone), f"{path} scrolls sideways at 400 px"
            phone.screenshot(path=str(output_dir / f"dashboard-400px-{name}-{store_kind}.png"), full_page=True)
        phone.goto(dashboard + "/tasks")
        cell = phone.locator(f'#task-rows tr[data-key="{video}"] td.error')
        assert phone.evaluate("e => getComputedStyle(e, '::before').content", cell.element_handle()) == '"Error"', "cells name their column"
        expect(phone.locator("table.tasks thead")).to_be_hidden()
        expect(phone.get_by_role("link", name="Workers", exact=True)).to_be_visible()
    finally:
        release.set()
        app.stop_workers(now=True)
        worker.join(timeout=15)
