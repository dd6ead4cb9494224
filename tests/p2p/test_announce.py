"""Announced addresses: never a wildcard, the external address when one is configured."""

from __future__ import annotations

import multiaddr
import pytest
import trio

from p2p import P2PConfigError, open_p2p_service
from p2p.announce import announced_addresses, interface_ipv4_addresses, parse_external_address

from .conftest import ConfigFactory


def _m(text: str) -> multiaddr.Multiaddr:
    return multiaddr.Multiaddr(text)


def test_external_address_forms_and_errors() -> None:
    assert parse_external_address("10.0.0.5") == ("10.0.0.5", None)
    assert parse_external_address("10.0.0.5:26656") == ("10.0.0.5", 26656)
    assert parse_external_address("/ip4/10.0.0.5/tcp/4000") == ("10.0.0.5", 4000)
    assert parse_external_address("/ip4/10.0.0.5") == ("10.0.0.5", None)
    for bad in ("", "0.0.0.0", "host.example", "10.0.0.5:x", "10.0.0.5:70000", "/dns4/a/tcp/1"):
        with pytest.raises(P2PConfigError):
            parse_external_address(bad)


def test_wildcard_is_replaced_by_interface_addresses_loopback_only_as_last_resort() -> None:
    wildcard = [_m("/ip4/0.0.0.0/tcp/4001")]
    got = announced_addresses(wildcard, None, lambda: ["10.0.0.7", "10.1.0.7", "127.0.0.1"])
    assert [str(a) for a in got] == ["/ip4/10.0.0.7/tcp/4001", "/ip4/10.1.0.7/tcp/4001"]
    got = announced_addresses(wildcard, None, lambda: ["127.0.0.1"])
    assert [str(a) for a in got] == ["/ip4/127.0.0.1/tcp/4001"]
    specific = [_m("/ip4/10.0.0.7/tcp/4001")]
    assert announced_addresses(specific, None, lambda: ["10.9.9.9"]) == specific
    # Observed addresses: kept with our listen port (a port-preserving NAT), dropped otherwise.
    observed = [_m("/ip4/203.0.113.5/tcp/4001"), _m("/ip4/203.0.113.6/tcp/51234")]
    got = announced_addresses(specific + observed, None, lambda: [])
    assert [str(a) for a in got] == ["/ip4/10.0.0.7/tcp/4001", "/ip4/203.0.113.5/tcp/4001"]


def test_external_address_wins_and_takes_the_listen_port_when_it_names_none() -> None:
    cands = [_m("/ip4/0.0.0.0/tcp/4001"), _m("/ip4/192.0.2.9/tcp/5555")]
    assert [str(a) for a in announced_addresses(cands, ("198.51.100.4", None))] == [
        "/ip4/198.51.100.4/tcp/4001"
    ]
    assert [str(a) for a in announced_addresses(cands, ("198.51.100.4", 9000))] == [
        "/ip4/198.51.100.4/tcp/9000"
    ]
    # Not listening (failed bind): nothing is announced, so the node sees the failure.
    assert announced_addresses([], ("198.51.100.4", 9000)) == []


async def test_host_on_wildcard_announces_a_dialable_address(make_config: ConfigFactory) -> None:
    real = [h for h in interface_ipv4_addresses() if not h.startswith("127.")]
    async with (
        open_p2p_service(make_config("wild", listen_host="0.0.0.0")) as wild,
        open_p2p_service(make_config("other")) as other,
    ):
        addrs = wild.listen_addrs
        assert addrs and not any("/ip4/0.0.0.0/" in a for a in addrs)
        if real:
            assert not any("/ip4/127.0.0.1/" in a for a in addrs)
        assert all(a.endswith(f"/tcp/{wild.listen_port}/p2p/{wild.peer_id}") for a in addrs)
        # What it announces is what a peer dials.
        with trio.fail_after(20):
            assert await other.connect(addrs[0]) == wild.peer_id


async def test_host_with_external_address_announces_only_it(make_config: ConfigFactory) -> None:
    config = make_config("ext", listen_host="0.0.0.0", external_address="198.51.100.4")
    async with open_p2p_service(config) as node:
        assert node.listen_addrs == [f"/ip4/198.51.100.4/tcp/{node.listen_port}/p2p/{node.peer_id}"]
    with pytest.raises(P2PConfigError):
        async with open_p2p_service(make_config("bad", external_address="0.0.0.0")):
            pass
