"""PostgreSQL plans that must not depend on luck: over a long history, the claim walks the due
index in order and stats() counts live tasks from their partial indexes, even for a type the
planner has no statistics for yet (a new type, a burst) queued behind tasks of types other
workers handle."""
from __future__ import annotations

import uuid

import psycopg
import pytest
from stores import drop_schema, with_schema

from tasker import Tasker
from tasker.store import open_store, parse_url
from tasker.store.postgres.driver import _success_json
from tasker.store.records import Outcome
from tasker.task import TaskStatus

HISTORY = """
INSERT INTO {schema}.tasks (id, type, status, queue, run_at, created_at, started_at, finished_at, attempts)
SELECT gen_random_uuid(), 'old_' || (g % 20), 'succeeded', 'default', now(), now(), now(), now(), 1
FROM generate_series(1, 50000) AS g;
INSERT INTO {schema}.tasks (id, type, status, queue, run_at, created_at)
SELECT gen_random_uuid(), 'elsewhere_' || (g % 5), 'queued', 'default', now() - interval '1 hour', now()
FROM generate_series(1, 20000) AS g
"""
BURST = """
INSERT INTO {schema}.tasks (id, type, status, queue, run_at, created_at)
SELECT gen_random_uuid(), 'brand_new', 'queued', 'default', now(), now() FROM generate_series(1, 5000)
"""


@pytest.fixture
def schema(pg_url: str):
    name = f"t_{uuid.uuid4().hex[:16]}"
    with Tasker(with_schema(pg_url, name)) as app:
        app.migrate()
    yield name
    drop_schema(pg_url, name)


def plan(pg_url: str, schema: str, statement: str, params: dict, *, seqscan: bool = True) -> str:
    """The statement's plan. ``seqscan=False`` asks whether an index can serve it at all: on a
    test-sized table a sequential scan may rightly be cheaper, and the planner then takes it
    whatever the indexes; without one that matches, it still has to."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        if not seqscan:
            conn.execute("SET enable_seqscan = off")
        rows = conn.execute("EXPLAIN " + statement, params, prepare=False).fetchall()
    return "\n".join(row[0] for row in rows)


def test_a_new_types_burst_is_claimed_in_due_order_not_sorted(pg_url, schema):
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(HISTORY.format(schema=schema))
        conn.execute(f"ANALYZE {schema}.tasks")   # statistics that have never seen 'brand_new'
        conn.execute(BURST.format(schema=schema))
    store = open_store(parse_url(with_schema(pg_url, schema)))
    claim = plan(pg_url, schema, store.q["claim_tasks"],
                 {"worker_id": str(uuid.uuid4()), "types": ["brand_new"], "queues": None, "limit": 10})
    assert "tasks_due_idx" in claim, claim
    assert "Sort" not in claim.split("LockRows")[-1], claim
    stats = plan(pg_url, schema, store.q["stats"], {}, seqscan=False)
    assert "Seq Scan on tasks" not in stats, stats


def test_flow_limits_are_read_from_live_tasks_only(pg_url, schema):
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(HISTORY.format(schema=schema))
        conn.execute(f"INSERT INTO {schema}.flow_limits (scope, name, concurrency_limit) VALUES ('type', 'old_1', 2), ('queue', 'default', 5)")
        conn.execute(f"ANALYZE {schema}.tasks")
    store = open_store(parse_url(with_schema(pg_url, schema)))
    limits = plan(pg_url, schema, store.q["flow_limits"], {}, seqscan=False)
    assert "Seq Scan on tasks" not in limits, limits


def test_a_limited_claim_reads_live_tasks_only(pg_url, schema):
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(HISTORY.format(schema=schema))
        conn.execute(BURST.format(schema=schema))
        conn.execute(f"INSERT INTO {schema}.flow_limits (scope, name, concurrency_limit) VALUES ('type', 'brand_new', 2)")
        conn.execute(f"ANALYZE {schema}.tasks")
    store = open_store(parse_url(with_schema(pg_url, schema)))
    claim = plan(pg_url, schema, store.q["claim_limited_tasks"],
                 {"worker_id": str(uuid.uuid4()), "types": ["brand_new", "old_1"], "queues": None, "limit": 10}, seqscan=False)
    assert "Seq Scan on tasks" not in claim, claim


def test_plans_cached_on_an_empty_table_still_reach_a_burst_without_reading_the_table(pg_url, schema):
    """A worker that started on an empty table keeps its cached (generic) plans while a burst
    grows the table, for a minute or more until autovacuum's ANALYZE: its claims and
    completions must still reach the rows by index or address. The claim once read the
    picked ids with a sequential scan there (6-7 ms a claim at 13,000-21,000 rows)."""
    store = open_store(parse_url(with_schema(pg_url, schema)))
    worker = str(uuid.uuid4())
    claim = {"worker_id": worker, "types": ["brand_new"], "queues": None, "limit": 10}

    def complete(conn: psycopg.Connection, rows: list) -> list:
        outcomes = [Outcome(row[0], row[1], TaskStatus.SUCCEEDED, duration=0.001) for row in rows]
        return conn.execute(store.q["complete_succeeded"], {"outcomes": "[" + ",".join(map(_success_json, outcomes)) + "]"},
                            prepare=True).fetchall()

    def tuples_read_by_sequential_scans(conn: psycopg.Connection) -> int:
        conn.execute("SELECT pg_stat_force_next_flush()")   # this backend's counts, flushed as it goes idle
        conn.execute("SELECT pg_stat_clear_snapshot()")
        return conn.execute("SELECT seq_tup_read FROM pg_stat_user_tables WHERE relid = %s::regclass",
                            (f"{schema}.tasks",)).fetchone()[0]

    with psycopg.connect(pg_url, autocommit=True) as conn, psycopg.connect(pg_url, autocommit=True) as other:
        conn.execute("SET plan_cache_mode = force_generic_plan")
        assert conn.execute(store.q["claim_tasks"], claim, prepare=True).fetchall() == []   # planned on the empty table
        assert complete(conn, [(str(uuid.uuid4()), str(uuid.uuid4()))]) == []
        other.execute(BURST.format(schema=schema))
        before = tuples_read_by_sequential_scans(conn)
        claimed = conn.execute(store.q["claim_tasks"], claim, prepare=True).fetchall()
        assert len(claimed) == 10
        assert len(complete(conn, claimed)) == 10
        assert tuples_read_by_sequential_scans(conn) == before
