"""Tests of tests/pg_server.py: the suite's way to get a PostgreSQL server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

import pg_server  # noqa: E402

psycopg = pytest.importorskip("psycopg")


def _select_1(url: str) -> int:
    with psycopg.connect(url, connect_timeout=5) as conn:
        return conn.execute("select 1").fetchone()[0]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_ensure_postgres_returns_connectable_url():
    url = pg_server.ensure_postgres()
    assert url.startswith("postgresql://")
    assert _select_1(url) == 1
    # exported for subprocesses, and cached
    assert os.environ[pg_server.ENV_URL] == url
    assert pg_server.ensure_postgres() is url


def test_url_reused_by_subprocess():
    url = pg_server.ensure_postgres()
    out = subprocess.run(
        [sys.executable, str(TESTS_DIR / "pg_server.py"), "--no-throwaway"],
        capture_output=True, text=True, timeout=60, env=dict(os.environ),
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == url


def _needs_binaries():
    if pg_server.find_pg_bindir() is None:
        pytest.skip("no PostgreSQL binaries (initdb/pg_ctl) to start a throwaway server")


def test_throwaway_server_start_and_stop():
    _needs_binaries()
    t0 = time.monotonic()
    server = pg_server.start_throwaway_server(register_atexit=False)
    try:
        assert server.url == f"postgresql://postgres@127.0.0.1:{server.port}/test"
        assert _select_1(server.url) == 1
        with psycopg.connect(server.url) as conn:
            assert conn.execute("show fsync").fetchone()[0] == "off"
            assert conn.execute("select current_database()").fetchone()[0] == "test"
    finally:
        server.stop()
    assert not server.basedir.exists()
    assert not _port_open(server.port)
    assert time.monotonic() - t0 < 15


def test_forced_throwaway_end_to_end_in_subprocess():
    """TASKER_TEST_FORCE_THROWAWAY=1 in a fresh process: the server it starts
    works, its URL is exported, and it is stopped and removed at exit."""
    _needs_binaries()
    code = (
        "import os, sys, psycopg; sys.path.insert(0, sys.argv[1]); import pg_server\n"
        "url = pg_server.ensure_postgres()\n"
        "assert os.environ['TASKER_TEST_DATABASE_URL'] == url\n"
        "with psycopg.connect(url) as c: assert c.execute('select 1').fetchone() == (1,)\n"
        "print(url, pg_server._throwaway.basedir)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != pg_server.ENV_URL}
    env[pg_server.ENV_FORCE_THROWAWAY] = "1"
    t0 = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-c", code, str(TESTS_DIR)],
        capture_output=True, text=True, timeout=60, env=env,
    )
    elapsed = time.monotonic() - t0
    assert out.returncode == 0, out.stdout + out.stderr
    url, basedir = out.stdout.split()
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    assert port != 5432
    assert not Path(basedir).exists(), "atexit did not remove the throwaway server"
    assert not _port_open(port), "atexit did not stop the throwaway server"
    assert elapsed < 15


def test_bad_env_url_is_a_clear_error(monkeypatch):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv(pg_server.ENV_URL, f"postgresql://postgres@127.0.0.1:{port}/test")
    with pytest.raises(pg_server.PostgresUnavailable, match=pg_server.ENV_URL):
        pg_server._discover()
