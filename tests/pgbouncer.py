"""A PgBouncer in transaction mode in front of the test server, for the pooler tests.

``start_pgbouncer(pg_url)`` writes a configuration into a temporary directory,
starts Debian's ``pgbouncer`` on a free port of 127.0.0.1 (as the ``postgres``
user when run as root: PgBouncer refuses to run as root) and returns a
``PgBouncer`` whose ``url(...)`` reaches the same database through it;
``stop()`` ends it and removes the directory. ``PgBouncerUnavailable`` says
why none could be started (``scripts/test`` installs the package when it can).
"""
from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

SEARCH = ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer")


class PgBouncerUnavailable(RuntimeError):
    """No pgbouncer binary, or it would not start."""


@dataclass
class PgBouncer:
    port: int
    user: str
    database: str
    directory: Path
    process: subprocess.Popen

    def url(self, **params: str) -> str:
        """A libpq URL through the pooler, with extra query parameters."""
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{self.database}" + (f"?{query}" if query else "")

    def log(self) -> str:
        path = self.directory / "pgbouncer.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)   # immediate shutdown
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        shutil.rmtree(self.directory, ignore_errors=True)


def find_pgbouncer() -> str | None:
    for path in SEARCH:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("pgbouncer")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_pgbouncer(pg_url: str, pool_size: int = 20) -> PgBouncer:
    binary = find_pgbouncer()
    if binary is None:
        raise PgBouncerUnavailable("pgbouncer is not installed (Debian: apt-get install pgbouncer; scripts/test does it as root)")
    server = urlsplit(pg_url)
    user = server.username or "postgres"
    database = server.path.lstrip("/") or user
    directory = Path(tempfile.mkdtemp(prefix="tasker-pgbouncer-"))
    port = _free_port()
    (directory / "users.txt").write_text(f'"{user}" ""\n')
    (directory / "pgbouncer.ini").write_text(f"""[databases]
{database} = host={server.hostname or '127.0.0.1'} port={server.port or 5432} dbname={database}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {directory / 'users.txt'}
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 1000
server_reset_query =
ignore_startup_parameters = extra_float_digits
logfile = {directory / 'pgbouncer.log'}
""")
    command = [binary, str(directory / "pgbouncer.ini")]
    if os.geteuid() == 0:   # PgBouncer will not run as root
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(directory, ignore_errors=True)
            raise PgBouncerUnavailable("running as root and there is no 'postgres' user to run pgbouncer as") from None
        for path in [directory, *directory.iterdir()]:
            os.chown(path, owner.pw_uid, owner.pw_gid)
        command[1:1] = ["-u", "postgres"]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    bouncer = PgBouncer(port, user, database, directory, process)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = bouncer.log()
            bouncer.stop()
            raise PgBouncerUnavailable(f"pgbouncer exited at start (code {process.returncode}): {log[-500:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return bouncer
        except OSError:
            time.sleep(0.05)
    bouncer.stop()
    raise PgBouncerUnavailable("pgbouncer did not listen within 10 s")
