"""Database chores for run.py (runs in the tasker bench venv, which has psycopg).

    admin.py create        create the benchmark database if missing
    admin.py drop          drop it (after ending its sessions)
    admin.py info          JSON: PostgreSQL version and a few settings; Redis reachable?
"""
from __future__ import annotations

import json
import socket
import sys

import psycopg

from harness import PG_ADMIN_DSN, PG_DB, REDIS_URL


def admin() -> psycopg.Connection:
    return psycopg.connect(PG_ADMIN_DSN, autocommit=True)


def create() -> None:
    with admin() as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DB,)).fetchone():
            conn.execute(f'CREATE DATABASE "{PG_DB}"')


def drop() -> None:
    with admin() as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                     (PG_DB,))
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}"')


def redis_ok() -> bool:
    rest = REDIS_URL.split("://", 1)[1].split("/", 1)[0]
    host, _, port = rest.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port or 6379)), timeout=2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def info() -> dict:
    out: dict = {"redis": redis_ok()}
    try:
        with admin() as conn:
            out["postgres"] = conn.execute("SHOW server_version").fetchone()[0]
            for name in ("shared_buffers", "synchronous_commit", "fsync", "max_connections", "shared_preload_libraries"):
                out[name] = conn.execute(f"SHOW {name}").fetchone()[0]
    except Exception as exc:  # reported by run.py
        out["postgres_error"] = str(exc)
    return out


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "create":
        create()
    elif cmd == "drop":
        drop()
    elif cmd == "info":
        print(json.dumps(info()))
    else:
        raise SystemExit(f"unknown command {cmd}")
