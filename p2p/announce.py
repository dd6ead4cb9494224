"""The addresses a node announces to its peers (identify, ivc_nodeInfo, the `started` log line).

A node that listens on a wildcard address (0.0.0.0) must not announce it, nor 127.0.0.1 when it
is reachable elsewhere: peers learn our addresses through identify and would dial what we say.
The rule:
- with an external address configured (`--external-address HOST[:PORT]` or a multiaddr), that
  address alone is announced, with the real listen port when it names none;
- otherwise a wildcard listen address is replaced by every IPv4 address of the host's
  interfaces that is up, loopback last (kept only when there is nothing else);
- a specific listen address is announced as it is;
- addresses that peers observed for us (libp2p's identify, confirmed by several of them) are
  kept only with our listen port: a NAT that rewrote the port maps an outbound connection, and
  nobody can dial that.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import multiaddr
import psutil

from p2p.errors import P2PConfigError

WILDCARD_HOSTS = ("0.0.0.0",)


def parse_external_address(text: str) -> tuple[str, int | None]:
    """`HOST`, `HOST:PORT` or `/ip4/HOST[/tcp/PORT]` -> (host, port or None); P2PConfigError."""
    text = text.strip()
    if not text:
        raise P2PConfigError("external address is empty")
    if text.startswith("/"):
        try:
            addr = multiaddr.Multiaddr(text)
            host = addr.value_for_protocol("ip4")
        except Exception as exc:
            raise P2PConfigError(
                f"bad external address {text!r} (expected /ip4/HOST[/tcp/PORT]): {exc}"
            ) from None
        try:
            port_text = addr.value_for_protocol("tcp")
        except Exception:
            port_text = None
        port = int(port_text) if port_text else None
    else:
        host, sep, port_part = text.partition(":")
        port = None
        if sep:
            if not port_part.isdigit():
                raise P2PConfigError(f"bad external address {text!r}: port must be a number")
            port = int(port_part)
    try:
        ip = ipaddress.IPv4Address(host)
    except ValueError:
        raise P2PConfigError(
            f"bad external address {text!r}: the host must be an IPv4 address"
        ) from None
    if ip.is_unspecified:
        raise P2PConfigError(f"external address {text!r}: 0.0.0.0 is not an address peers can dial")
    if port is not None and not 1 <= port <= 65535:
        raise P2PConfigError(f"external address {text!r}: port must be in [1, 65535]")
    return str(ip), port


def interface_ipv4_addresses() -> list[str]:
    """IPv4 addresses of the interfaces that are up, loopback last."""
    stats = psutil.net_if_stats()
    found: list[ipaddress.IPv4Address] = []
    for name, addrs in psutil.net_if_addrs().items():
        if name in stats and not stats[name].isup:
            continue
        for a in addrs:
            if a.family.name == "AF_INET":
                try:
                    found.append(ipaddress.IPv4Address(a.address))
                except ValueError:
                    continue
    unique = sorted(set(found), key=lambda ip: (ip.is_loopback, int(ip)))
    return [str(ip) for ip in unique]


def _tcp_port(addr: multiaddr.Multiaddr) -> int | None:
    try:
        value = addr.value_for_protocol("tcp")
    except Exception:
        return None
    return int(value) if value else None


def _ip4(addr: multiaddr.Multiaddr) -> str | None:
    try:
        value = addr.value_for_protocol("ip4")
    except Exception:
        return None
    return str(value) if value else None


def announced_addresses(
    candidates: list[multiaddr.Multiaddr],
    external: tuple[str, int | None] | None,
    interfaces: Callable[[], list[str]] = interface_ipv4_addresses,
) -> list[multiaddr.Multiaddr]:
    """The addresses to announce, from libp2p's candidates: the listen addresses first, then
    the observed ones."""
    if not candidates:
        return []  # not listening (a failed bind): nothing to announce
    listen_port = next((p for p in map(_tcp_port, candidates) if p), None)
    if external is not None:
        host, port = external
        port = port if port is not None else listen_port
        if port is None:
            return []
        return [multiaddr.Multiaddr(f"/ip4/{host}/tcp/{port}")]
    out: list[multiaddr.Multiaddr] = []
    seen: set[str] = set()
    for addr in candidates:
        ip = _ip4(addr)
        port = _tcp_port(addr)
        if port != listen_port:
            continue
        if ip in WILDCARD_HOSTS and port is not None:
            hosts = interfaces()
            real = [h for h in hosts if not ipaddress.IPv4Address(h).is_loopback]
            expanded = [multiaddr.Multiaddr(f"/ip4/{h}/tcp/{port}") for h in (real or hosts[:1])]
        else:
            expanded = [addr]
        for a in expanded:
            if str(a) not in seen:
                seen.add(str(a))
                out.append(a)
    return out


def addrs_factory(
    external: tuple[str, int | None] | None,
) -> Callable[[list[multiaddr.Multiaddr]], list[multiaddr.Multiaddr]]:
    """libp2p's AddrsFactory (BasicHost asks it on every get_addrs) applying the rule above."""

    def factory(candidates: list[multiaddr.Multiaddr]) -> list[multiaddr.Multiaddr]:
        return announced_addresses(candidates, external)

    return factory
