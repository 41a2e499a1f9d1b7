"""Storage: one protocol (``base.Store``), one implementation per database."""
from __future__ import annotations

from .base import Store
from .url import StoreConfig, parse_url


def open_store(config: StoreConfig) -> Store:
    """Make (but do not connect) the store a URL names."""
    if config.kind == "postgresql":
        from .postgres.driver import PostgresStore

        return PostgresStore(config)
    from .sqlite.driver import SqliteStore

    return SqliteStore(config)


__all__ = ["Store", "StoreConfig", "open_store", "parse_url"]
