"""Block work in worker threads: a proposal is executed off the event loop before the driver
sees it, our own proposal is built off the loop, and both keep what the driver decides."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
import trio

from consensus import (
    Proposal,
    ProposalBundle,
    SendProposal,
    SendVote,
    Step,
    TimeoutEvent,
    VoteType,
    keccak256,
)
from consensus.messages import NIL
from execution.types.block import Block
from execution.types.transaction import Transaction
from genesis import init_local_chain
from genesis.params import GWEI
from node.config import load_config
from node.node import Node

TO = bytes.fromhex("00000000000000000000000000000000000be9c1")


@pytest.fixture
def net(tmp_path: Path) -> Iterator[tuple[Node, Node, list[bytes]]]:
    """The round-0 proposer of height 1 and another validator, with 40 transfers pooled."""
    local = init_local_chain(tmp_path / "net", "ivc-off-loop", 4, 4)
    nodes = [Node.open(load_config(local.node_home(i))) for i in range(4)]
    try:
        vset = nodes[0].validator_set(1)
        first = vset.proposer_index(0)
        by_index = {vset.index_of(n.signer.public_key): n for n in nodes if n.signer is not None}
        proposer, checker = by_index[first], by_index[(first + 1) % 4]
        raws = [
            Transaction(proposer.chain_id, n, GWEI, 2 * GWEI, 21_000, TO, 1, b"")
            .sign(k.private_key)
            .raw
            for n in range(10)
            for k in local.account_keys
        ]
        for raw in raws:
            proposer.mempool.add(raw)
        yield proposer, checker, raws
    finally:
        for n in nodes:
            n.close()


def _record_threads(node: Node) -> list[tuple[bool, bool]]:
    """(ran on the main thread, chain lock held) for each execution of a proposal."""
    calls: list[tuple[bool, bool]] = []
    execute = node._execute

    def recording(block: Block) -> str | None:
        calls.append(
            (threading.current_thread() is threading.main_thread(), node.chain_lock.locked())
        )
        return execute(block)

    node._execute = recording  # type: ignore[method-assign]
    return calls


def _proposal(outputs: Sequence[object]) -> ProposalBundle:
    return next(o.bundle for o in outputs if isinstance(o, SendProposal))


def _prevote(outputs: Sequence[object]) -> bytes:
    votes = [o.vote for o in outputs if isinstance(o, SendVote)]
    return next(v.block_hash for v in votes if v.vote_type == VoteType.PREVOTE)


async def test_own_proposal_is_built_in_a_thread_and_used(
    net: tuple[Node, Node, list[bytes]],
) -> None:
    proposer, _, raws = net
    await proposer._prebuild(1)
    assert proposer._prebuilt is not None
    prebuilt = proposer._prebuilt[2]
    assert len(prebuilt.transactions) == len(raws)
    bundle = _proposal(proposer._start_outputs(1))
    assert proposer._prebuilt is None
    assert bundle.value == prebuilt.encode()  # the driver proposed the block built off the loop


async def test_prebuilt_block_of_an_old_head_is_not_proposed(
    net: tuple[Node, Node, list[bytes]],
) -> None:
    proposer, _, raws = net
    await proposer._prebuild(1)
    assert proposer._prebuilt is not None
    _, height, block, ms = proposer._prebuilt
    empty = proposer.chain.build_block([], block.header.proposer, block.header.time_ms)
    proposer._prebuilt = (bytes(32), height, empty, ms)  # built on a head we no longer have
    bundle = _proposal(proposer._start_outputs(1))
    assert len(Block.decode(bundle.value).transactions) == len(raws)  # built again on the loop
    assert proposer._prebuilt is None


async def test_proposal_is_executed_in_a_thread_once(net: tuple[Node, Node, list[bytes]]) -> None:
    proposer, checker, _ = net
    for raw in net[2]:
        checker.mempool.add(raw)
    bundle = _proposal(proposer._start_outputs(1))
    checker._start_outputs(1)
    calls = _record_threads(checker)
    await checker._precheck(bundle)
    assert calls == [(False, True)]  # in a worker thread, the head locked
    assert _prevote(checker.driver.on_proposal(bundle)) == bundle.proposal.block_hash
    assert len(calls) == 1  # the driver's is_valid used the verdict
    # The same proposal again (gossip re-delivery) is not executed again.
    await checker._precheck(bundle)
    assert len(calls) == 1


async def test_invalid_proposal_found_in_the_thread_gets_a_nil_prevote(
    net: tuple[Node, Node, list[bytes]],
) -> None:
    proposer, checker, _ = net
    good = Block.decode(proposer._get_value(1))
    h = good.header
    fields = {f: getattr(h, f) for f in h.__dataclass_fields__}
    header = type(h)(**{**fields, "state_root": bytes(32)})  # a lie about the state
    bad = Block(header, good.transactions, good.last_commit, good.evidence, good.universal_proofs)
    assert proposer.signer is not None
    # The round's proposer signs the lie: only executing the block finds it.
    index = proposer.validator_set(1).proposer_index(0)
    signed = proposer.signer.sign_proposal(
        Proposal(proposer.chain_id, 1, 0, bad.hash, -1, index), bad.encode()
    )
    bundle = ProposalBundle(signed, bad.encode())
    checker._start_outputs(1)
    calls = _record_threads(checker)
    await checker._precheck(bundle)
    assert calls == [(False, True)]
    verdict = checker._verdicts[(keccak256(bad.encode()), checker.chain.head.hash)]
    assert verdict is not None and verdict.startswith("execution")
    assert _prevote(checker.driver.on_proposal(bundle)) == NIL
    assert len(calls) == 1


async def test_block_sync_waits_for_a_proposal_being_executed(
    net: tuple[Node, Node, list[bytes]],
) -> None:
    proposer, checker, _ = net
    bundle = _proposal(proposer._start_outputs(1))
    checker._start_outputs(1)
    async with trio.open_nursery() as nursery:
        await checker.chain_lock.acquire()  # as block sync would hold it
        nursery.start_soon(checker._precheck, bundle)
        await trio.sleep(0.05)
        assert not checker._verdicts  # the proposal waits for the head to be free
        checker.chain_lock.release()
    assert list(checker._verdicts.values()) == [None]


async def test_next_round_proposal_is_built_in_a_thread(
    net: tuple[Node, Node, list[bytes]],
) -> None:
    _, proposer, raws = net  # not the proposer of round 0: of a later round
    for raw in raws:
        proposer.mempool.add(raw)
    vset = proposer.validator_set(1)
    assert proposer.signer is not None
    me = vset.index_of(proposer.signer.public_key)
    next_round = next(r for r in range(1, 20) if vset.proposer_index(r) == me)
    proposer._start_outputs(1)
    proposer.driver.core.round = next_round - 1
    await proposer._prebuild(1, next_round)
    assert proposer._prebuilt is not None
    assert proposer.driver.core.valid_value is None
    prebuilt = proposer._prebuilt[2]
    outputs = proposer.driver.on_timeout(TimeoutEvent(Step.PRECOMMIT, 1, next_round - 1))
    bundle = _proposal(outputs)
    assert bundle.proposal.round == next_round
    assert bundle.value == prebuilt.encode()
    assert len(prebuilt.transactions) == len(raws)


async def test_proposal_seen_before_its_height_is_executed_in_a_thread_at_start(
    net: tuple[Node, Node, list[bytes]],
) -> None:
    proposer, checker, raws = net
    for raw in raws:
        checker.mempool.add(raw)
    bundle = _proposal(proposer._start_outputs(1))
    assert checker.driver.on_proposal(bundle) == []  # one height early: buffered by the driver
    calls = _record_threads(checker)
    await checker._precheck(bundle, starting=True)
    assert calls == [(False, True)]
    # Starting the height replays the buffered proposal; is_valid finds the verdict.
    assert _prevote(checker._start_outputs(1)) == bundle.proposal.block_hash
    assert len(calls) == 1


def test_only_signed_round_zero_proposals_of_the_next_height_are_held_early(
    net: tuple[Node, Node, list[bytes]],
) -> None:
    proposer, checker, _ = net
    bundle = _proposal(proposer._start_outputs(1))
    p = bundle.proposal
    junk = [
        ProposalBundle(p.with_signature(bytes(96)), bundle.value),  # not a signature
        ProposalBundle(replace(p, round=1), bundle.value),  # signed for round 0, not 1
        ProposalBundle(replace(p, valid_round=0, round=1), bundle.value),
        ProposalBundle(replace(p, proposer_index=(p.proposer_index + 1) % 4), bundle.value),
        ProposalBundle(p, bundle.value + b"\x00"),  # not the signed value
        ProposalBundle(replace(p, height=2), bundle.value),  # two heights ahead
        ProposalBundle(replace(p, chain_id=p.chain_id + 1), bundle.value),
    ]
    # As the consensus loop does, with the junk first and more of it than there are places.
    for b in [*junk, *junk, bundle, bundle]:
        if checker._holds_early(b):
            checker._early.append(b)
    assert checker._early == [bundle]  # the real one held, once, and nothing else
