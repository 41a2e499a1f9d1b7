"""Loading the named SQL statements and migrations that ship beside each store."""
from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from ..limits import ACTIVITY_KEPT_DAYS
from ..tallies import RETRIED, SHARDS
from ..task import ACTIONS, LIVE, TERMINAL, sql_statuses

# The task rules (task.ACTIONS) as SQL lists, so statements such as
# cancel_task.sql read ``status IN {can_cancel}`` from the one table.
RULES = {
    **{f"can_{action}": sql_statuses(statuses) for action, statuses in ACTIONS.items()},
    "live": sql_statuses(LIVE),
    "finished": sql_statuses(TERMINAL),
    "tally_shards": str(SHARDS),
    "tally_retried": RETRIED,
    "activity_kept_days": str(ACTIVITY_KEPT_DAYS),
}

MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def _read(package: str, folder: str) -> dict[str, str]:
    root = resources.files(package).joinpath(folder)
    return {item.name: item.read_text("utf-8") for item in root.iterdir() if item.name.endswith(".sql")}


def load_queries(package: str, substitutions: dict[str, str]) -> dict[str, str]:
    """Every ``queries/NAME.sql`` as ``{NAME: text}``, placeholders such as
    ``{schema}`` (and the task rules' ``{can_cancel}``...) replaced once here,
    with values already quoted for SQL.

    A file named ``_PART.sql`` is a fragment, not a statement: it fills ``{PART}``
    in the statements (the conditions of a task filter, written once per store)."""
    everything = {**RULES, **substitutions}
    files = _read(package, "queries")
    fragments = {name[1:-4]: _substitute(text.strip(), everything) for name, text in files.items() if name.startswith("_")}
    everything.update(fragments)
    return {name[:-4]: _substitute(text, everything) for name, text in files.items() if not name.startswith("_")}


def load_migrations(package: str, substitutions: dict[str, str]) -> list[Migration]:
    """Numbered migrations in order; a gap or a duplicate number is a packaging bug."""
    found = []
    for name, text in _read(package, "migrations").items():
        match = MIGRATION_NAME.match(name)
        if not match:
            raise RuntimeError(f"badly named migration file {name!r}")
        found.append(Migration(int(match.group(1)), name, _substitute(text, substitutions)))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations are not numbered 1..N: {[m.name for m in found]}")
    return found


def _substitute(text: str, substitutions: dict[str, str]) -> str:
    for key, value in substitutions.items():
        text = text.replace("{" + key + "}", value)
    return text
