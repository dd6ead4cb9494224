"""Separate network hosts on one machine: Linux network namespaces on a bridge.

`open_lab(count)` creates `count` namespaces, each with one veth whose other end is on a
bridge of its own, and a 10.A.B.0/24 subnet unused on this machine: host i is 10.A.B.(i+1),
the bridge (this test process) 10.A.B.254, so the test reaches every host's RPC and the hosts
reach each other only over their veths. Names carry a per-run tag, so parallel runs never
collide; everything is removed in a `finally`, and the test checks nothing was left behind.
Needs root and iproute2; `skip_reason()` says why a machine cannot run it.
"""

from __future__ import annotations

import ipaddress
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

IP_TIMEOUT = 20.0


class LabUnavailable(Exception):
    """Namespaces cannot be created here (not root, no iproute2, EPERM in a container)."""


def skip_reason() -> str | None:
    if not sys.platform.startswith("linux"):
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns add)"
    if shutil.which("ip") is None:
        return "no `ip` command (iproute2) to create network namespaces"
    return None


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=IP_TIMEOUT)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done


def list_netns() -> list[str]:
    out = ip("netns", "list").stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def _used_subnets() -> set[ipaddress.IPv4Network]:
    out = ip("-o", "-4", "addr", "show").stdout + ip("-4", "route", "show").stdout
    nets = set()
    for word in out.split():
        try:
            nets.add(ipaddress.IPv4Network(word.split("/")[0] + "/24", strict=False))
        except ValueError:
            continue
    return nets


@dataclass
class Lab:
    tag: str
    subnet: ipaddress.IPv4Network
    namespaces: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)

    @property
    def bridge(self) -> str:
        return f"ivb{self.tag}"

    @property
    def gateway(self) -> str:
        return str(self.subnet.network_address + 254)

    def address(self, i: int) -> str:
        return str(self.subnet.network_address + i + 1)

    def exec_argv(self, i: int, argv: list[str]) -> list[str]:
        """`argv` run as a process of host i (its own network stack)."""
        return ["ip", "netns", "exec", self.namespaces[i], *argv]

    def add_host(self) -> int:
        i = len(self.namespaces)
        ns, veth = f"ivcnet-{self.tag}-{i}", f"ivv{self.tag}{i}"
        inside = f"ive{self.tag}{i}"
        try:
            ip("netns", "add", ns)
        except RuntimeError as exc:
            if not self.namespaces and "not permitted" in str(exc).lower():
                raise LabUnavailable(f"cannot create a network namespace: {exc}") from None
            raise
        self.namespaces.append(ns)
        ip("link", "add", veth, "type", "veth", "peer", "name", inside, "netns", ns)
        self.links.append(veth)
        ip("link", "set", veth, "master", self.bridge, "up")
        ip("-n", ns, "addr", "add", f"{self.address(i)}/24", "dev", inside)
        ip("-n", ns, "link", "set", inside, "up")
        ip("-n", ns, "link", "set", "lo", "up")
        return i

    def cleanup(self) -> list[str]:
        """Remove everything; return what could not be removed (for the leak check)."""
        for link in self.links:
            ip("link", "del", link, check=False)
        for ns in self.namespaces:
            ip("netns", "del", ns, check=False)
        ip("link", "del", self.bridge, check=False)
        # Namespaces are torn down asynchronously by the kernel: a bounded wait.
        deadline = time.monotonic() + 10
        while True:
            left = [ns for ns in list_netns() if ns.startswith(f"ivcnet-{self.tag}-")]
            if ip("link", "show", self.bridge, check=False).returncode == 0:
                left.append(self.bridge)
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.2)


@contextmanager
def open_lab(count: int) -> Iterator[Lab]:
    reason = skip_reason()
    if reason is not None:
        raise LabUnavailable(reason)
    rng = random.Random()  # names must differ between runs, not repeat: unseeded on purpose
    tag = f"{os.getpid() % 10000:04d}{rng.randrange(256):02x}"
    used = _used_subnets()
    for _ in range(100):
        subnet = ipaddress.IPv4Network(f"10.{rng.randrange(100, 250)}.{rng.randrange(256)}.0/24")
        if subnet not in used:
            break
    else:
        raise RuntimeError("no free 10.x.y.0/24 subnet")
    lab = Lab(tag, subnet)
    try:
        try:
            ip("link", "add", lab.bridge, "type", "bridge")
        except RuntimeError as exc:
            if "not permitted" in str(exc).lower():
                raise LabUnavailable(f"cannot create a bridge: {exc}") from None
            raise
        ip("addr", "add", f"{lab.gateway}/24", "dev", lab.bridge)
        ip("link", "set", lab.bridge, "up")
        for _ in range(count):
            lab.add_host()
        yield lab
    finally:
        left = lab.cleanup()
        if left:
            raise RuntimeError(f"network namespaces or links left behind: {left}")
