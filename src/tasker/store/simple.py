"""The operations that are the same in every store, written once: those that are one
named statement and a row conversion, and checking the schema version.

A driver inherits ``SimpleOperations`` and supplies ``_fetch(name, params)``
(run ``queries/NAME.sql`` on its own, autocommit, and return its rows,
readable by column name), ``schema_version()``, ``migrations`` and ``where``.
What differs between the stores (transactions, notifications, array
parameters) stays in the drivers.
"""
from __future__ import annotations

from typing import Any, Sequence

from . import records
from ..errors import SchemaMissingError, SchemaTooNewError
from ..ids import new_id
from ..limits import ERROR_SCAN
from ..series import Schedule, ScheduleSpec
from ..tallies import Tally
from ..task import Task, TaskFilter, TaskPage, WorkerState
from .records import BulkStep, MinuteCount, RecentAttempt, Row
from .sqlfiles import Migration


# The statement of each bulk action, for a batch of ids.
BULK_STATEMENTS = {"cancel": "cancel_tasks", "retry": "retry_tasks", "run_now": "run_tasks_now", "delete": "delete_tasks"}


class SimpleOperations:
    migrations: list[Migration]

    @property
    def where(self) -> str:
        """The schema's place, in words: "PostgreSQL schema 'tasker'"."""
        raise NotImplementedError

    async def _fetch(self, name: str, params: dict[str, Any] | None = None) -> Sequence[Row]:
        raise NotImplementedError

    async def schema_version(self) -> int | None:
        raise NotImplementedError

    def _check_not_newer(self, version: int) -> None:
        latest = self.migrations[-1].version
        if version > latest:
            raise SchemaTooNewError(f"{self.where} is at schema version {version}; this Tasker knows {latest}")

    async def check_schema(self) -> None:
        """Raise ``SchemaMissingError`` (absent or older) or ``SchemaTooNewError``; never changes anything."""
        version = await self.schema_version()
        latest = self.migrations[-1].version
        if version is None or version < latest:
            found = "no Tasker schema" if version is None else f"schema version {version}, need {latest}"
            raise SchemaMissingError(f"{self.where} has {found}: run `tasker migrate` (or app.migrate())")
        self._check_not_newer(version)

    async def get_task(self, task_id: str) -> Task | None:
        rows = await self._fetch("get_task", {"id": task_id})
        return records.task_from_row(rows[0]) if rows else None

    def _ids(self, ids: list[str] | None) -> Any:
        """A list of ids as this store's statements take it (PostgreSQL: an array)."""
        return ids

    def _filter(self, selection: TaskFilter) -> dict[str, Any]:
        params = records.filter_params(selection)
        return {**params, "ids": self._ids(params["ids"])}

    async def list_tasks(self, selection: TaskFilter, after: str | None, limit: int, scan: int | None) -> TaskPage:
        if selection.error is None:   # every row read matches: reading one more than the page tells if more follow
            return await self._page(selection, after, limit, limit + 1)
        if scan is not None:
            return await self._page(selection, after, limit, scan)
        # No bound asked for: search on, a bounded statement at a time (SQLite would otherwise
        # read every task with an error before the first page could be returned).
        tasks: list[Task] = []
        while True:
            page = await self._page(selection, after, limit - len(tasks), ERROR_SCAN)
            tasks += page.tasks
            if not page.scan_limited:
                return TaskPage(tasks, page.next)
            after = page.next

    async def _page(self, selection: TaskFilter, after: str | None, limit: int, scan: int) -> TaskPage:
        params = {**self._filter(selection), "after": after, "limit": limit, "scan": scan}
        return records.page_from_rows(await self._fetch("list_tasks", params), limit, scan)

    async def count_tasks(self, selection: TaskFilter, action: str | None, cap: int | None) -> int:
        rows = await self._fetch("count_tasks", {**self._filter(selection), "action": action, "cap": cap})
        return rows[0]["n"]

    async def act_on_tasks(self, action: str, selection: TaskFilter, after: str | None, limit: int) -> BulkStep:
        params = {**self._filter(selection), "action": action, "after": after, "limit": limit}
        ids = [row["id"] for row in await self._fetch("pick_tasks", params)]
        changed = await self._act(action, ids) if ids else 0
        return BulkStep(changed, ids[-1] if len(ids) == limit else None)

    async def _act(self, action: str, ids: list[str]) -> int:
        """Apply ``action`` to these tasks (those it still applies to), with the store's
        notifications; how many changed."""
        raise NotImplementedError

    async def run_schedule_now(self, schedule_id: str) -> str | None:
        rows = await self._fetch("run_schedule_now", {"id": new_id(), "schedule_id": schedule_id})
        return rows[0]["id"] if rows else None

    async def delete_task(self, task_id: str) -> bool:
        return bool(await self._fetch("delete_task", {"id": task_id}))

    async def now(self) -> float:
        raise NotImplementedError

    async def cleanup(self, older_than: float | None, status: str | None, type: str | None, batch: int,
                      max_batches: int | None = None) -> int:
        """Batch after batch, each its own statement, until one comes back short (or ``max_batches``)."""
        params = {**await self._cleanup_filter(older_than, status, type), "batch": batch}
        deleted, batches = 0, 0
        while True:
            gone = len(await self._fetch("cleanup", params))
            deleted, batches = deleted + gone, batches + 1
            if gone < batch or (max_batches is not None and batches >= max_batches):
                return deleted

    async def count_cleanup(self, older_than: float | None, status: str | None, type: str | None) -> int:
        return int((await self._fetch("count_cleanup", await self._cleanup_filter(older_than, status, type)))[0]["n"])

    async def _cleanup_filter(self, older_than: float | None, status: str | None, type: str | None) -> dict[str, Any]:
        # One cutoff on the store's clock for every batch: tasks finishing meanwhile are not swept up.
        before = None if older_than is None else await self.now() - older_than
        return {"before": before, "status": status, "type": type}

    async def stats(self) -> dict[str, Any]:
        return records.stats_from_rows(await self._fetch("stats"), await self.paused_queues())

    async def list_workers(self) -> list[WorkerState]:
        return [records.worker_from_row(row) for row in await self._fetch("list_workers")]

    async def throughput(self, window: float) -> list[MinuteCount]:
        return [records.minute_count_from_row(row) for row in await self._fetch("throughput", {"window": window})]

    async def oldest_queued(self) -> dict[str, float]:
        return {row["queue"]: row["age"] for row in await self._fetch("oldest_queued")}

    async def recent_durations(self, window: float, limit: int) -> list[RecentAttempt]:
        rows = await self._fetch("recent_durations", {"window": window, "limit": limit})
        return [records.recent_attempt_from_row(row) for row in rows]

    async def set_queue_paused(self, name: str, paused: bool) -> None:
        await self._fetch("set_queue_paused", {"name": name, "paused": paused})

    async def paused_queues(self) -> list[str]:
        return [row["name"] for row in await self._fetch("paused_queues")]

    async def set_flow_limit(self, scope: str, name: str, concurrency_limit: int | None,
                             rate: tuple[int, float] | None) -> None:
        if concurrency_limit is None and rate is None:
            await self._fetch("delete_flow_limit", {"scope": scope, "name": name})
            return
        count, period = rate if rate is not None else (None, None)
        await self._fetch("set_flow_limit", {"scope": scope, "name": name, "concurrency_limit": concurrency_limit,
                                             "rate_count": count, "rate_period": period})

    async def flow_limits(self) -> list[records.FlowLimit]:
        return [records.flow_limit_from_row(row) for row in await self._fetch("flow_limits")]

    async def limited_names(self) -> list[tuple[str, str]]:
        return [(row["scope"], row["name"]) for row in await self._fetch("limited_names")]

    async def next_flow_slot(self) -> float | None:
        rows = await self._fetch("next_flow_slot")
        return rows[0]["at"] if rows else None

    async def queued_types(self) -> dict[str, int]:
        return {row["type"]: row["n"] for row in await self._fetch("queued_types")}

    async def read_tallies(self) -> list[Tally]:
        return [records.tally_from_row(row) for row in await self._fetch("read_tallies")]

    async def insert_schedule(self, spec: ScheduleSpec) -> str:
        return (await self._fetch("insert_schedule", records.schedule_params(spec)))[0]["id"]

    async def list_schedules(self, include_cancelled: bool) -> list[Schedule]:
        return [records.schedule_from_row(row) for row in await self._fetch("list_schedules", {"all": include_cancelled})]

    async def unregister_worker(self, worker_id: str) -> None:
        await self._fetch("unregister_worker", {"id": worker_id})
