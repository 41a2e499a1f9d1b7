"""The completer's last line of defence, against the real stores: an outcome the store refuses
is recorded as a failure on its own, never retried with its batch, never holding back others."""
from __future__ import annotations

import asyncio

import pytest

from tasker import Tasker, TaskStatus
from tasker.ids import new_id
from tasker.store.records import Outcome
from tasker.worker.completer import Completer

POISONS = {
    "nul_in_error": dict(status=TaskStatus.QUEUED, error="junk \x00", retry_in=1.0),
    "surrogate_in_error": dict(status=TaskStatus.FAILED, error="bad \ud800"),
    "nan_delay": dict(status=TaskStatus.QUEUED, error="x", retry_in=float("nan")),
    "endless_delay": dict(status=TaskStatus.QUEUED, error="x", retry_in=1e300),
    "surrogate_in_result": dict(status=TaskStatus.SUCCEEDED, result_json='"\ud800"'),
}


@pytest.mark.parametrize("poison", POISONS)
def test_a_refused_outcome_is_recorded_as_failed_and_the_rest_of_its_batch_is_written(app: Tasker, poison: str):
    ids = [app.create("t") for _ in range(3)]

    async def scenario() -> None:
        store = await app.runtime.store()
        claimed = {c.id: c for c in await store.claim_tasks(new_id(), ["t"], None, 10)}
        good = [Outcome(i, claimed[i].claim_token, TaskStatus.SUCCEEDED, result_json='"fine"') for i in ids[1:]]
        bad = Outcome(ids[0], claimed[ids[0]].claim_token, **POISONS[poison])
        completer = Completer(store)
        writing = asyncio.create_task(completer.run())
        for outcome in [good[0], bad, good[1]]:
            completer.submit(outcome)
        try:
            assert await completer.flush(timeout=20), "the batch was retried instead of being split"
        finally:
            writing.cancel()

    app.runtime.sync(scenario())
    poisoned = app.get(ids[0])
    assert poisoned.status is not TaskStatus.RUNNING, "the poisoned outcome was never recorded"
    refused_here = poison != "nul_in_error" or app.config.kind == "postgresql"   # SQLite keeps NUL in text
    if poison == "endless_delay":
        refused_here = app.config.kind == "postgresql"   # SQLite stores the far time, and it reads back clamped
    if refused_here:
        assert poisoned.status is TaskStatus.FAILED, poisoned
        assert "refused to record this attempt's outcome" in poisoned.last_error
    assert [app.get(i).result for i in ids[1:]] == ["fine", "fine"]
    assert len(app.list(limit=10)) == 3 and app.stats()["running"] == 0
