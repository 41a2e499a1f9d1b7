"""Every Python example in the README runs as written (each in a fresh process and folder);
an example headed ``# file: PATH`` is that file, word for word (the file has its own test)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from stores import drop_schema

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = re.findall(r"^```python\n(.*?)^```", (ROOT / "README.md").read_text(), re.S | re.M)


def test_the_readme_has_examples():
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("block", BLOCKS, ids=[b.splitlines()[0][:40] for b in BLOCKS])
def test_each_example_runs_as_written(block: str, tmp_path: Path, request):
    first = block.splitlines()[0]
    if first.startswith("# file: "):
        assert (ROOT / first[len("# file: "):]).read_text().rstrip() == "\n".join(block.splitlines()[1:]).rstrip()
        return
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKER_")}
    schema = None
    if first.startswith("# needs PostgreSQL"):
        schema = f"t_readme_{uuid.uuid4().hex[:8]}"
        env.update(DATABASE_URL=request.getfixturevalue("pg_url"), TASKER_SCHEMA=schema)
    try:
        done = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    finally:
        if schema:
            drop_schema(request.getfixturevalue("pg_url"), schema)
