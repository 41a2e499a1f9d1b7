"""Find (or start) a PostgreSQL server for the test suite.

``ensure_postgres()`` returns a libpq URL of a reachable server, trying in order:

a. ``$TASKER_TEST_DATABASE_URL`` if set (checked with a real connection; a
   failure is an error, never a silent fallback);
b. the machine's cluster at 127.0.0.1:5432, database ``test``, user
   ``postgres`` (the database is created if only it is missing);
c. if that is not reachable and ``/etc/postgresql`` holds a cluster, start it
   with ``pg_ctlcluster --skip-systemctl-redirect VERSION NAME start`` and wait
   for it (up to ~30 s);
d. otherwise a throwaway server: ``initdb`` into a temporary directory and
   ``pg_ctl start`` on a free port of 127.0.0.1 with fsync off, stopped and
   removed at interpreter exit.  Binaries come from ``$TASKER_TEST_PG_BINDIR``,
   ``/usr/lib/postgresql/*/bin``, ``PATH``, or the ``pgserver`` PyPI package
   if it is installed (it ships PostgreSQL binaries).

The result is cached per process and exported as ``$TASKER_TEST_DATABASE_URL``
so that subprocesses reuse the same server.

``TASKER_TEST_FORCE_THROWAWAY=1`` skips (b) and (c) (but not (a), so that
subprocesses still reuse the parent's throwaway server).

The module only needs the standard library at import time; psycopg (3) is
imported when a connection is actually checked.  Run it as a script to print
the URL: ``python tests/pg_server.py [--no-throwaway]``.
"""

from __future__ import annotations

import atexit
import glob
import importlib.util
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "ENV_URL",
    "ENV_FORCE_THROWAWAY",
    "ENV_BINDIR",
    "PostgresUnavailable",
    "ThrowawayServer",
    "ensure_postgres",
    "find_pg_bindir",
    "start_throwaway_server",
]

ENV_URL = "TASKER_TEST_DATABASE_URL"
ENV_FORCE_THROWAWAY = "TASKER_TEST_FORCE_THROWAWAY"
ENV_BINDIR = "TASKER_TEST_PG_BINDIR"

LOCAL_URL = "postgresql://postgres@127.0.0.1:5432/test"
LOCAL_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
CLUSTER_START_TIMEOUT = 30.0
TEST_DB = "test"

_lock = threading.Lock()
_cached_url: str | None = None
_throwaway: "ThrowawayServer | None" = None


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server could be found or started."""


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _log(msg: str) -> None:
    print(f"[pg_server] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# connection checks
# --------------------------------------------------------------------------


def _connect_error(url: str, timeout: int = 3) -> Exception | None:
    """Connect to *url* and run ``select 1``; return the error or None."""
    import psycopg  # imported lazily: the module must import without it

    try:
        with psycopg.connect(url, connect_timeout=timeout, autocommit=True) as conn:
            conn.execute("select 1").fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means "not usable"
        return exc
    return None


def _create_database(admin_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, connect_timeout=3, autocommit=True) as conn:
        exists = conn.execute(
            "select 1 from pg_database where datname = %s", (name,)
        ).fetchone()
        if not exists:
            try:
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
            except psycopg.errors.DuplicateDatabase:
                pass  # created concurrently by another process


def _check_local() -> Exception | None:
    """Check 127.0.0.1:5432/test, creating database ``test`` if only it is missing."""
    err = _connect_error(LOCAL_URL)
    if err is None:
        return None
    if _connect_error(LOCAL_ADMIN_URL) is None:
        try:
            _create_database(LOCAL_ADMIN_URL, TEST_DB)
        except Exception as exc:  # noqa: BLE001
            return exc
        return _connect_error(LOCAL_URL)
    return err


# --------------------------------------------------------------------------
# (c) the machine's cluster
# --------------------------------------------------------------------------


def _system_clusters() -> list[tuple[str, str]]:
    """(version, name) of clusters configured under /etc/postgresql, 'main' first."""
    found = []
    for conf in glob.glob("/etc/postgresql/*/*/postgresql.conf"):
        cluster_dir = Path(conf).parent
        found.append((cluster_dir.parent.name, cluster_dir.name))

    def key(vc: tuple[str, str]) -> tuple[int, int]:
        version, name = vc
        try:
            v = -int(version.split(".")[0])
        except ValueError:
            v = 0
        return (0 if name == "main" else 1, v)

    return sorted(found, key=key)


def _start_system_cluster() -> Exception | None:
    clusters = _system_clusters()
    if not clusters:
        return PostgresUnavailable("no cluster under /etc/postgresql")
    ctl = shutil.which("pg_ctlcluster") or "/usr/bin/pg_ctlcluster"
    if not os.path.exists(ctl):
        return PostgresUnavailable("pg_ctlcluster not found")
    for version, name in clusters:
        cmd = [ctl, "--skip-systemctl-redirect", version, name, "start"]
        _log("starting system cluster: " + " ".join(cmd))
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            _log(f"  failed: {exc}")
            continue
        if proc.returncode not in (0, 2):  # 2: already running
            _log(f"  exit {proc.returncode}: {(proc.stderr or proc.stdout).strip()}")
        deadline = time.monotonic() + CLUSTER_START_TIMEOUT
        err: Exception | None = None
        while time.monotonic() < deadline:
            err = _check_local()
            if err is None:
                return None
            time.sleep(0.5)
        _log(f"  cluster {version}/{name} did not become reachable: {err}")
    return PostgresUnavailable("system cluster did not become reachable at 127.0.0.1:5432")


# --------------------------------------------------------------------------
# (d) throwaway server
# --------------------------------------------------------------------------


def _bindir_ok(d: Path) -> bool:
    return all(os.access(d / exe, os.X_OK) for exe in ("initdb", "pg_ctl", "postgres"))


def _version_key(path: str) -> tuple[int, ...]:
    parts = Path(path).parent.name.split(".")
    try:
        return tuple(int(p) for p in parts)
    except ValueError:
        return (0,)


def find_pg_bindir() -> Path | None:
    """Directory holding ``initdb``, ``pg_ctl`` and ``postgres``, or None."""
    env = os.environ.get(ENV_BINDIR)
    if env:
        d = Path(env)
        if not _bindir_ok(d):
            raise PostgresUnavailable(f"${ENV_BINDIR}={env} lacks initdb/pg_ctl/postgres")
        return d
    for b in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True):
        if _bindir_ok(Path(b)):
            return Path(b)
    initdb = shutil.which("initdb")
    if initdb and _bindir_ok(Path(initdb).resolve().parent):
        return Path(initdb).resolve().parent
    # The PyPI package "pgserver" ships PostgreSQL binaries; use them if installed
    # (found without importing it, so its own dependencies do not matter).
    spec = importlib.util.find_spec("pgserver")
    if spec and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            d = Path(loc) / "pginstall" / "bin"
            if _bindir_ok(d):
                return d
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_options(port: int, basedir: Path) -> str:
    """The ``pg_ctl -o`` options of a throwaway server: loopback only, no durability (tests only)."""
    return " ".join(
        shlex.quote(o)
        for o in [
            "-c", f"port={port}",
            "-c", "listen_addresses=127.0.0.1",
            "-c", f"unix_socket_directories={basedir}",
            "-c", "fsync=off",
            "-c", "synchronous_commit=off",
            "-c", "full_page_writes=off",
            "-c", "max_connections=200",
        ]
    )


@dataclass
class ThrowawayServer:
    """A PostgreSQL server in a temporary directory; ``stop()`` removes it all."""

    url: str
    port: int
    basedir: Path
    datadir: Path
    bindir: Path
    user: str | None  # user the server runs as (None: the current one)
    owner_pid: int = field(default_factory=os.getpid)
    stopped: bool = False

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def pg_ctl(self, *args: str) -> None:
        _run_as(self.user, [str(self.bindir / "pg_ctl"), "-D", str(self.datadir), *args], cwd=self.basedir, timeout=60)

    def shut_down(self) -> None:
        """Stop the server as an operator would (``-m fast``: every session is told to go), keeping its data."""
        self.pg_ctl("-m", "fast", "-w", "-t", "30", "stop")

    def start_again(self) -> None:
        """Start it again on the same port and data directory, with the options it was first started with."""
        self.pg_ctl("-l", str(self.basedir / "server.log"), "-w", "-t", "30", "-s", "-o", server_options(self.port, self.basedir), "start")

    def restart(self) -> None:
        self.shut_down()
        self.start_again()

    def stop(self) -> None:
        """Stop the server (fast, ``-m immediate``) and delete its directory."""
        if self.stopped or os.getpid() != self.owner_pid:
            return  # never stop the parent's server from a forked child
        self.stopped = True
        try:
            if (self.datadir / "postmaster.pid").exists():
                _run_as(
                    self.user,
                    [str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "-w", "-t", "20", "stop"],
                    cwd=self.basedir,
                    timeout=30,
                    check=False,
                )
        except Exception:  # noqa: BLE001
            pass
        finally:
            _kill_postmaster(self.datadir)
            shutil.rmtree(self.basedir, ignore_errors=True)


def _kill_postmaster(datadir: Path) -> None:
    """Last resort if pg_ctl stop failed: SIGKILL the pid in postmaster.pid."""
    try:
        pid = int((datadir / "postmaster.pid").read_text().split()[0])
        os.kill(pid, 9)
    except (OSError, ValueError, IndexError):
        pass


def _server_user() -> str | None:
    """PostgreSQL refuses to run as root: pick an unprivileged user when root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise PostgresUnavailable("running as root and no 'postgres' or 'nobody' user to run PostgreSQL as")


def _run_as(user: str | None, cmd: list[str], *, cwd: Path, timeout: float, check: bool = True):
    kwargs: dict = {}
    if user is not None:
        pw = pwd.getpwnam(user)
        kwargs = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
    env = dict(os.environ, LC_ALL="C", LANG="C")
    env.pop("PGDATA", None)
    proc = subprocess.run(
        cmd,
        cwd=cwd,  # must be accessible to *user* (initdb/pg_ctl getcwd())
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        **kwargs,
    )
    if check and proc.returncode != 0:
        raise PostgresUnavailable(
            f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}"
        )
    return proc


def _usable_by(user: str | None, bindir: Path, basedir: Path) -> Path:
    """Return a bindir *user* can execute, copying the install into *basedir* if
    needed (e.g. pgserver inside a venv under /root, which is mode 700)."""
    try:
        _run_as(user, [str(bindir / "pg_ctl"), "--version"], cwd=basedir, timeout=15)
        return bindir
    except (OSError, PostgresUnavailable):
        if user is None:
            raise
    # Mirror <site>/<pkg>/<install>/bin plus <site>/*.libs: wheels repaired by
    # auditwheel (pgserver) find their libraries via RPATH $ORIGIN/../../../<pkg>.libs.
    install = bindir.parent
    site = install.parent.parent
    dest_root = basedir / "pginstall"
    dest = dest_root / install.parent.name / install.name
    _log(f"copying {install} under {dest_root} (not executable by {user})")
    shutil.copytree(install, dest, symlinks=True, ignore=shutil.ignore_patterns("include"))
    for libs in site.glob("*.libs"):
        shutil.copytree(libs, dest_root / libs.name, symlinks=True)
    pw = pwd.getpwnam(user)
    for root, dirs, files in os.walk(dest_root):
        os.chown(root, pw.pw_uid, pw.pw_gid)
        for n in files:
            os.chown(os.path.join(root, n), pw.pw_uid, pw.pw_gid, follow_symlinks=False)
    return dest / bindir.name


def start_throwaway_server(bindir: Path | None = None, *, register_atexit: bool = True) -> ThrowawayServer:
    """initdb + start a private server on a free 127.0.0.1 port (database ``test``).

    Trust auth, user ``postgres``, fsync off, unix socket in the temp dir.  The
    caller owns it: call ``stop()`` (also registered with atexit by default).
    """
    bindir = bindir or find_pg_bindir()
    if bindir is None:
        raise PostgresUnavailable(
            "no PostgreSQL binaries (initdb, pg_ctl, postgres) under /usr/lib/postgresql/*/bin, "
            f"on PATH, in ${ENV_BINDIR}, or from the 'pgserver' package (pip install pgserver)"
        )
    user = _server_user()
    basedir = Path(tempfile.mkdtemp(prefix="tasker-pg-"))
    try:
        if user is not None:
            pw = pwd.getpwnam(user)
            os.chown(basedir, pw.pw_uid, pw.pw_gid)
        os.chmod(basedir, 0o700)
        bindir = _usable_by(user, bindir, basedir)
        datadir = basedir / "data"
        t0 = time.monotonic()
        _run_as(
            user,
            [str(bindir / "initdb"), "-D", str(datadir), "-U", "postgres", "--auth=trust",
             "-E", "UTF8", "--locale=C", "--no-sync"],
            cwd=basedir,
            timeout=120,
        )
        last_err: Exception | None = None
        for _attempt in range(3):  # a free port can be taken before we bind it
            port = _free_port()
            opts = server_options(port, basedir)
            proc = _run_as(
                user,
                [str(bindir / "pg_ctl"), "-D", str(datadir), "-l", str(basedir / "server.log"),
                 "-w", "-t", "30", "-s", "-o", opts, "start"],
                cwd=basedir,
                timeout=60,
                check=False,
            )
            if proc.returncode == 0:
                break
            last_err = PostgresUnavailable(
                f"pg_ctl start exited {proc.returncode}: {proc.stdout}{proc.stderr}\n"
                + _tail(basedir / "server.log")
            )
            _kill_postmaster(datadir)
        else:
            raise last_err or PostgresUnavailable("pg_ctl start failed")
        server = ThrowawayServer(
            url=f"postgresql://postgres@127.0.0.1:{port}/{TEST_DB}",
            port=port,
            basedir=basedir,
            datadir=datadir,
            bindir=bindir,
            user=user,
        )
    except BaseException:
        _kill_postmaster(basedir / "data")
        shutil.rmtree(basedir, ignore_errors=True)
        raise
    if register_atexit:
        atexit.register(server.stop)
    try:
        _create_database(server.admin_url, TEST_DB)
        err = _connect_error(server.url)
        if err is not None:
            raise err
    except BaseException:
        server.stop()
        raise
    _log(f"throwaway server {server.url} in {basedir} (ready in {time.monotonic() - t0:.1f}s)")
    return server


def _tail(path: Path, n: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


# --------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------


def _discover(allow_throwaway: bool = True) -> str:
    global _throwaway
    env_url = os.environ.get(ENV_URL)
    if env_url:
        err = _connect_error(env_url)
        if err is not None:
            raise PostgresUnavailable(f"${ENV_URL}={env_url} is set but not reachable: {err}")
        return env_url

    tried: list[str] = []
    if not _truthy(os.environ.get(ENV_FORCE_THROWAWAY)):
        err = _check_local()
        if err is None:
            return LOCAL_URL
        tried.append(f"{LOCAL_URL}: {err}".strip())
        if os.path.isdir("/etc/postgresql") and _system_clusters():
            err = _start_system_cluster()
            if err is None:
                return LOCAL_URL
            tried.append(f"pg_ctlcluster start: {err}")
    else:
        tried.append(f"${ENV_FORCE_THROWAWAY} set: skipped 127.0.0.1:5432 and the system cluster")

    if not allow_throwaway:
        raise PostgresUnavailable("no PostgreSQL server reachable:\n  " + "\n  ".join(tried))
    try:
        _throwaway = start_throwaway_server()
    except Exception as exc:
        tried.append(f"throwaway server: {exc}")
        raise PostgresUnavailable("could not find or start PostgreSQL:\n  " + "\n  ".join(tried)) from exc
    return _throwaway.url


def ensure_postgres() -> str:
    """Return the libpq URL of a reachable PostgreSQL server (database ``test``).

    Computed once per process; also exported as ``$TASKER_TEST_DATABASE_URL``.
    Raises :class:`PostgresUnavailable` if nothing works.
    """
    global _cached_url
    with _lock:
        if _cached_url is None:
            url = _discover()
            os.environ[ENV_URL] = url
            _cached_url = url
        return _cached_url


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "-h" in argv or "--help" in argv:
        print("usage: pg_server.py [--no-throwaway]\n"
              "Print the URL of a reachable PostgreSQL server (see module docstring).\n"
              "--no-throwaway: only check $TASKER_TEST_DATABASE_URL / the machine's cluster;\n"
              "exit 1 if neither is reachable (a throwaway server would die with this process).")
        return 0
    try:
        url = _discover(allow_throwaway="--no-throwaway" not in argv)
    except PostgresUnavailable as exc:
        print(exc, file=sys.stderr)
        return 1
    print(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
