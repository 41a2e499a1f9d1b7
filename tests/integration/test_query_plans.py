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
