"""Networks of state machines under a seeded scheduler: agreement on every height (the
harness raises AgreementViolation the moment two nodes decide differently), validity and
liveness under delays, reordering, drops, crashes, partitions and a Byzantine proposer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from consensus import (
    FileSignerStore,
    MemorySignerStore,
    PrivValidator,
    SendVote,
    Step,
    ValidatorSet,
    Vote,
    verify_commit,
    verify_evidence,
)
from consensus.driver import SignatureCache
from consensus.simulation import (
    Broadcast,
    CoreNode,
    DriverNode,
    EquivocatingCoreNode,
    EquivocatingDriverNode,
    Network,
    Timer,
)

CHAIN = 4242


def assert_valid_values(net: Network) -> None:
    """Validity: every decided value is one an honest proposer made for that height."""
    for decided in net.decisions.values():
        for h, value in decided.items():
            assert value.startswith(b"block h=%d by " % h), value


@pytest.mark.parametrize("seed", range(4))
def test_four_validators_agree_over_many_heights(
    seed: int, make_vset: Callable[..., ValidatorSet]
) -> None:
    vset = make_vset(1, 1, 1, 1)
    net = Network([CoreNode(i, vset) for i in range(4)], seed=seed, max_delay=0.05)
    net.start()
    assert net.run(until_height=150)
    assert_valid_values(net)
    for h in range(1, 151):
        assert len({net.decisions[i][h] for i in range(4)}) == 1


def test_drops_and_reordering_keep_agreement_and_progress(
    make_vset: Callable[..., ValidatorSet],
) -> None:
    vset = make_vset(1, 1, 1, 1)
    for seed in range(3):
        net = Network([CoreNode(i, vset) for i in range(4)], seed=seed, drop_rate=0.25,
                      max_delay=0.2)
        net.start()
        assert net.run(until_height=40)
        assert net.stats.dropped > 0
        assert_valid_values(net)


def test_one_crashed_validator_does_not_stop_the_others(
    make_vset: Callable[..., ValidatorSet],
) -> None:
    vset = make_vset(1, 1, 1, 1)
    net = Network([CoreNode(i, vset) for i in range(4)], seed=5)
    net.crash(1)
    net.start()
    assert net.run(until_height=40)
    assert net.decisions[1] == {}
    # Heights whose round-0 proposer is the crashed node need a round change.
    slow = [h for h, r in net.stats.rounds_by_height.items() if r > 0]
    assert slow and all(vset.at_height(h).proposer_index(0) == 1 for h in slow)


def test_silent_proposers_round_changes_with_growing_timeouts(
    make_vset: Callable[..., ValidatorSet],
) -> None:
    vset = make_vset(1, 1, 1, 1, 1, 1, 1)  # proposers of height 1: rounds 0, 1, 2 -> 0, 1, 2
    net = Network([CoreNode(i, vset) for i in range(7)], seed=2)
    net.crash(0)
    net.crash(1)
    net.record_trace = True
    net.start()
    assert net.run(until_height=1)
    assert net.stats.rounds_by_height[1] == 2
    propose_timers = [
        e.delay for _, node, e in net.trace
        if node == 4 and isinstance(e, Timer) and e.event.step == Step.PROPOSE and e.event.height == 1
    ]
    # Rounds 0, 1 (silent proposers) and 2 (decided): base 0.3 + round * 0.1.
    assert propose_timers == pytest.approx([0.3, 0.4, 0.5])


def test_weighted_proposers_propose_in_schedule(make_vset: Callable[..., ValidatorSet]) -> None:
    vset = make_vset(3, 1, 2, 1)
    net = Network([CoreNode(i, vset) for i in range(4)], seed=9)
    net.start()
    assert net.run(until_height=28)
    proposers = []
    for h in range(1, 29):
        value = net.decisions[0][h]
        if net.stats.rounds_by_height[h] == 0:
            assert value == b"block h=%d by %d" % (h, vset.at_height(h).proposer_index(0))
        proposers.append(int(value.rsplit(b" ", 1)[1]))
    assert proposers.count(0) > proposers.count(2) > proposers.count(1)


def test_partition_two_two_halts_then_heals(make_vset: Callable[..., ValidatorSet]) -> None:
    vset = make_vset(1, 1, 1, 1)
    heal = 30.0

    def blocked(src: int, dst: int, now: float) -> bool:
        return now < heal and (src < 2) != (dst < 2)

    net = Network([CoreNode(i, vset) for i in range(4)], seed=4, blocked=blocked)
    net.start()
    assert not net.run(until_height=1, max_time=heal - 1)
    assert all(not d for d in net.decisions.values())  # no quorum on either side
    assert net.run(until_height=5, max_time=heal + 60)


@pytest.mark.parametrize("seed", range(12))
def test_byzantine_proposer_cannot_split_decisions(
    seed: int, make_vset: Callable[..., ValidatorSet]
) -> None:
    vset = make_vset(1, 1, 1, 1)
    byz = seed % 4
    nodes: list[CoreNode] = [
        EquivocatingCoreNode(i, vset) if i == byz else CoreNode(i, vset) for i in range(4)
    ]
    net = Network(nodes, seed=seed, max_delay=0.1)
    net.start()
    honest = [i for i in range(4) if i != byz]
    assert net.run(until_height=12, nodes=honest, max_time=600)
    for h in range(1, 13):
        assert len({net.decisions[i][h] for i in honest}) == 1


def test_bls_network_decides_with_verifiable_commits(
    keys: Callable[[int], tuple[bytes, ...]], make_vset: Callable[..., ValidatorSet]
) -> None:
    sks = keys(4)
    vset = make_vset(1, 1, 1, 1)
    cache = SignatureCache()  # one process verifies each signature once for all its nodes
    nodes = [
        DriverNode(i, CHAIN, vset, PrivValidator(sks[i], MemorySignerStore()),
                   driver_kwargs={"signatures": cache})
        for i in range(4)
    ]
    net = Network(nodes, seed=1, max_delay=0.05)
    net.crash(3)
    net.start()
    assert net.run(until_height=4)
    assert_valid_values(net)
    for h in range(1, 5):
        commit = net.commits[h]
        verify_commit(commit, vset, CHAIN, height=h)
        assert commit.block_hash == __import__("consensus").keccak256(net.decisions[0][h])
        assert 3 not in commit.signer_indices()


def test_bls_equivocating_validator_yields_evidence_and_no_fork(
    keys: Callable[[int], tuple[bytes, ...]], make_vset: Callable[..., ValidatorSet]
) -> None:
    sks = keys(4)
    vset = make_vset(1, 1, 1, 1)
    cache = SignatureCache()
    nodes: list[DriverNode] = [
        EquivocatingDriverNode(0, CHAIN, vset, sks[0], driver_kwargs={"signatures": cache})
    ]
    nodes += [
        DriverNode(i, CHAIN, vset, PrivValidator(sks[i], MemorySignerStore()),
                   driver_kwargs={"signatures": cache})
        for i in range(1, 4)
    ]
    net = Network(nodes, seed=3, max_delay=0.05)
    net.start()
    assert net.run(until_height=3, nodes=[1, 2, 3])
    for h in range(1, 4):
        assert len({net.decisions[i][h] for i in (1, 2, 3)}) == 1
        verify_commit(net.commits[h], vset, CHAIN, height=h)
    assert net.evidence
    for ev in net.evidence:
        assert ev.validator_index == 0
        verify_evidence(ev, vset, CHAIN)


def test_crashed_validator_restarts_from_its_wal_without_double_signing(
    tmp_path: Path, keys: Callable[[int], tuple[bytes, ...]], make_vset: Callable[..., ValidatorSet]
) -> None:
    sks = keys(4)
    vset = make_vset(1, 1, 1, 1)
    cache = SignatureCache()

    def node(i: int) -> DriverNode:
        signer = PrivValidator(sks[i], FileSignerStore(tmp_path / f"node{i}"))
        return DriverNode(i, CHAIN, vset, signer, driver_kwargs={"signatures": cache})

    net = Network([node(i) for i in range(4)], seed=11, max_delay=0.05)
    net.record_trace = True
    net.start()

    def node2_prevoted_at_3() -> bool:
        n2 = net.nodes[2]
        assert isinstance(n2, DriverNode)
        return n2.height == 3 and any(
            isinstance(m, SendVote) for m in n2.driver.own_messages()
        )

    assert not net.run(until_height=5, stop_when=node2_prevoted_at_3)
    net.crash(2)  # killed in the middle of height 3, after its prevote went out
    assert net.run(until_height=4, nodes=[0, 1, 3])
    net.restart(node(2))  # a new process on the same files
    assert net.run(until_height=6)
    assert len({net.decisions[i][6] for i in range(4)}) == 1

    signed: dict[tuple[int, int, int], set[bytes]] = {}
    after_restart = 0
    for _, idx, effect in net.trace:
        if idx == 2 and isinstance(effect, Broadcast) and isinstance(effect.message, Vote):
            v = effect.message
            signed.setdefault((v.height, v.round, v.vote_type), set()).add(v.block_hash)
            after_restart += v.height >= 4
    assert all(len(hashes) == 1 for hashes in signed.values()), signed
    assert after_restart > 0  # it signs again after catching up


@pytest.mark.parametrize("seed", range(10))
def test_chaos_equivocator_drops_and_partitions(
    seed: int, make_vset: Callable[..., ValidatorSet]
) -> None:
    """Everything at once, seeded: an equivocating validator, uneven powers, 15% drops,
    delays up to 0.3 s (longer than some timeouts) and a random partition that heals."""
    import random

    rng = random.Random(seed)
    vset = make_vset(2, 3, 2, 2, 1)  # total 10: any 1 faulty of power <= 3 is < 1/3
    byz = rng.randrange(5)
    cut = set(rng.sample(range(5), 2))
    heal = rng.uniform(2, 20)

    def blocked(src: int, dst: int, now: float) -> bool:
        return now < heal and (src in cut) != (dst in cut)

    nodes = [EquivocatingCoreNode(i, vset) if i == byz else CoreNode(i, vset) for i in range(5)]
    net = Network(nodes, seed=seed, drop_rate=0.15, max_delay=0.3, blocked=blocked)
    net.start()
    honest = [i for i in range(5) if i != byz]
    assert net.run(until_height=15, nodes=honest, max_time=900)
    for h in range(1, 16):
        assert len({net.decisions[i][h] for i in honest}) == 1
