"""The examples run as they are: the quick start, and a project's own tests through the pytest plugin."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("TASKER_URL", "TASKER_TEST_URL")}
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120, env={**environment, **env})


def test_the_quickstart_runs_as_written(tmp_path: Path):
    for _ in range(2):   # and again, on the store the first run left
        done = run([sys.executable, str(EXAMPLES / "quickstart.py")], tmp_path)
        assert done.returncode == 0, done.stderr
        assert "ran 2 task(s), 0 failed" in done.stdout and "sent in fr" in done.stdout and "succeeded" in done.stdout
    assert (tmp_path / "tasker.db").exists()


@pytest.mark.parametrize("store", ["memory", "postgres"])
def test_a_projects_tests_use_the_plugin_and_the_helpers(store: str, request):
    options = ["--tasker-url", request.getfixturevalue("pg_url")] if store == "postgres" else []
    done = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *options], EXAMPLES / "testing")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 passed" in done.stdout
