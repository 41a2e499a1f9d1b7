"""Worker "hosts" in Linux network namespaces, for the fleet test and benchmark.

``Host(index, pg_host, pg_port)`` makes a namespace joined to this one by a veth
pair; PostgreSQL, listening on loopback here, is reached through a relay bound to
the pair's address on this side (``host.url(...)``). ``host.cut()`` takes the link
down: packets stop, no connection is closed (a partition, not a reset), and
``host.restore()`` brings it back. ``host.command(...)`` runs a program inside the
namespace. ``host.remove()`` deletes all of it. ``unsupported()`` says why hosts
cannot be made here (not root, no ``ip``, no namespaces), or None.
"""
from __future__ import annotations

import os
import random
import shutil
import subprocess
from typing import Sequence

from apps.cutting_proxy import CuttingProxy

SUBNET = f"10.213.{random.randrange(256)}"   # one /24 per test process, a /30 per host


def _ip(*args: str, ns: str | None = None) -> None:
    command = ["ip", *args] if ns is None else ["ip", "netns", "exec", ns, "ip", *args]
    subprocess.run(command, check=True, capture_output=True, timeout=10)


def unsupported() -> str | None:
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is not installed"
    probe = f"tkprobe{os.getpid() % 100000}"
    try:
        _ip("netns", "add", probe)
        _ip("netns", "del", probe)
    except (subprocess.CalledProcessError, OSError) as exc:
        detail = exc.stderr.decode(errors="replace").strip() if isinstance(exc, subprocess.CalledProcessError) else str(exc)
        return f"cannot make a network namespace here: {detail}"
    return None


class Host:
    def __init__(self, index: int, pg_host: str, pg_port: int):
        tag = f"{os.getpid() % 10000}x{index}"
        self.name = f"host{index}"
        self.ns = f"tasker-{tag}"
        self.outside, self.inside = f"tko{tag}", f"tki{tag}"   # interface names: 15 characters at most
        self.address = f"{SUBNET}.{4 * index + 1}"
        made: list[str] = []
        try:
            _ip("netns", "add", self.ns)
            made.append("ns")
            _ip("link", "add", self.outside, "type", "veth", "peer", "name", self.inside)
            made.append("link")
            _ip("link", "set", self.inside, "netns", self.ns)
            _ip("addr", "add", f"{self.address}/30", "dev", self.outside)
            _ip("link", "set", self.outside, "up")
            _ip("addr", "add", f"{SUBNET}.{4 * index + 2}/30", "dev", self.inside, ns=self.ns)
            _ip("link", "set", self.inside, "up", ns=self.ns)
            _ip("link", "set", "lo", "up", ns=self.ns)
            self.relay = CuttingProxy(pg_host, pg_port, listen_host=self.address)
        except BaseException:
            self._undo(made)
            raise

    def url(self, database_url: str) -> str:
        """``database_url`` (host, port replaced) as this host reaches it."""
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(database_url)
        user = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        return urlunsplit(parts._replace(netloc=f"{user}{self.address}:{self.relay.port}"))

    def command(self, args: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.ns, *args]

    def cut(self) -> None:
        _ip("link", "set", self.outside, "down")

    def restore(self) -> None:
        _ip("link", "set", self.outside, "up")

    def remove(self) -> None:
        self.relay.close()
        self._undo(["ns", "link"])

    def _undo(self, made: list[str]) -> None:
        if "link" in made:
            subprocess.run(["ip", "link", "del", self.outside], capture_output=True, timeout=10)
        if "ns" in made:
            subprocess.run(["ip", "netns", "del", self.ns], capture_output=True, timeout=10)
