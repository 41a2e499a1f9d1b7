"""/metrics: Prometheus text read from the store at each scrape."""
from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from webtools import BEARER, TOKEN


def scrape(client, **kwargs) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def test_metrics_from_the_store(local, app):
    @app.handler("ok")
    def ok(payload):
        return None

    @app.handler("boom", max_attempts=1)
    def boom(payload):
        raise RuntimeError("no")

    for _ in range(3):
        app.create("ok", queue="q1")
    app.create("boom", queue="q1")
    app.create("waiting", queue='we"ird\\queue')       # label escaping
    app.create("later", queue="q2", delay=3600)
    app.process_queue()
    app.pause_queue("q2")

    samples = scrape(local)
    assert samples[("tasker_tasks", (("queue", "q1"), ("status", "succeeded")))] == 3
    assert samples[("tasker_tasks", (("queue", "q1"), ("status", "failed")))] == 1
    assert samples[("tasker_tasks", (("queue", 'we"ird\\queue'), ("status", "queued")))] == 1
    assert samples[("tasker_tasks_processed_total", (("queue", "q1"), ("type", "ok")))] == 3
    assert samples[("tasker_tasks_processed_total", (("queue", "q1"), ("type", "boom")))] == 1
    assert samples[("tasker_tasks_failed_total", (("queue", "q1"), ("type", "boom")))] == 1
    assert samples[("tasker_tasks_failed_total", (("queue", "q1"), ("type", "ok")))] == 0
    assert samples[("tasker_tasks_finished_total", (("queue", "q1"), ("status", "succeeded"), ("type", "ok")))] == 3
    assert samples[("tasker_queue_paused", (("queue", "q2"),))] == 1
    assert samples[("tasker_queue_paused", (("queue", "q1"),))] == 0
    assert samples[("tasker_queue_oldest_due_age_seconds", (("queue", 'we"ird\\queue'),))] >= 0
    assert ("tasker_queue_oldest_due_age_seconds", (("queue", "q2"),)) not in samples   # not due yet
    runs = samples[("tasker_task_run_seconds_count", (("queue", "q1"), ("status", "succeeded"), ("type", "ok")))]
    assert runs == 3
    assert samples[("tasker_task_run_seconds_bucket", (("le", "+Inf"), ("queue", "q1"), ("status", "succeeded"), ("type", "ok")))] == 3
    assert samples[("tasker_task_run_seconds_bucket", (("le", "1800.0"), ("queue", "q1"), ("status", "succeeded"), ("type", "ok")))] == 3
    assert samples[("tasker_task_queue_wait_seconds_count", (("queue", "q1"), ("type", "ok")))] == 3
    assert samples[("tasker_task_queue_wait_seconds_count", (("queue", "q1"), ("type", "boom")))] == 1
    assert samples[("tasker_workers", ())] == 0


def test_metrics_use_the_api_auth(make_client):
    client = make_client(remote=True, token=TOKEN)
    assert client.get("/metrics").status_code == 401
    scrape(client, headers=BEARER)
    assert make_client(remote=True).get("/metrics").status_code == 403


def test_counters_and_histograms_never_go_down(local, app):
    """Cleanup, delete and retry change what is stored, never what was counted."""
    app.register("ok", lambda payload: None)
    app.register("boom", lambda payload: 1 / 0, max_attempts=2, retry_delay=0)
    app.create_many("ok", range(12))
    failing = app.create("boom")
    cancelled = app.create("never", delay=3600)
    app.cancel(cancelled)
    app.process_queue()
    app.process_queue()
    before = scrape(local)
    assert before[("tasker_tasks_processed_total", (("queue", "default"), ("type", "ok")))] == 12
    assert before[("tasker_task_retries_total", (("queue", "default"), ("type", "boom")))] == 1
    assert before[("tasker_tasks_finished_total", (("queue", "default"), ("status", "cancelled"), ("type", "never")))] == 1

    assert app.retry(failing)
    assert app.cleanup(older_than=0) >= 13
    app.delete(cancelled)
    after = scrape(local)
    counted = [k for k in before if k[0].endswith(("_total", "_bucket", "_count", "_sum"))]
    assert counted
    for key in counted:
        assert after.get(key, 0) >= before[key], key
    assert ("tasker_tasks", (("queue", "default"), ("status", "succeeded"))) not in after or \
        after[("tasker_tasks", (("queue", "default"), ("status", "succeeded")))] == 0


def test_flow_limits_as_gauges(local, app):
    app.configure_queue("emails", concurrency_limit=2, rate_limit="120/m")
    for n in range(3):
        app.create("send", n, queue="emails")
    samples = scrape(local)
    key = (("name", "emails"), ("scope", "queue"))
    assert samples[("tasker_flow_concurrency_limit", key)] == 2
    assert samples[("tasker_flow_rate_limit_per_second", key)] == 2.0
    assert samples[("tasker_flow_waiting_tasks", key)] == 3
    assert samples[("tasker_flow_running_tasks", key)] == 0
