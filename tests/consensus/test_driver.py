"""The driver's intake checks: every hostile or misplaced message is dropped without effect."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from consensus import (
    ConsensusDriver,
    Decided,
    MemorySignerStore,
    PrivValidator,
    Proposal,
    ProposalBundle,
    SendVote,
    TimeoutEvent,
    ValidatorSet,
    Vote,
    VoteType,
    keccak256,
    sign,
)
from consensus.state_machine import Step

CHAIN = 4242
VALUE = b"block by validator 0"
VID = keccak256(VALUE)


def make(sks: tuple[bytes, ...], me: int = 3) -> ConsensusDriver:
    return ConsensusDriver(
        CHAIN,
        signer=PrivValidator(sks[me], MemorySignerStore()),
        get_value=lambda h: b"own block",
        is_valid=lambda v: True,
    )


def bundle(
    sk: bytes,
    *,
    h: int = 1,
    r: int = 0,
    value: bytes = VALUE,
    proposer: int = 0,
    chain: int = CHAIN,
    vr: int = -1,
) -> ProposalBundle:
    p = Proposal(chain, h, r, keccak256(value), vr, proposer)
    return ProposalBundle(p.with_signature(sign(sk, p.sign_bytes())), value)


def vote(
    sk: bytes,
    idx: int,
    *,
    h: int = 1,
    r: int = 0,
    t: VoteType = VoteType.PREVOTE,
    block: bytes = VID,
    chain: int = CHAIN,
) -> Vote:
    v = Vote(chain, h, r, t, block, idx)
    return v.with_signature(sign(sk, v.sign_bytes()))


def sent_votes(out: list[object]) -> list[Vote]:
    return [o.vote for o in out if isinstance(o, SendVote)]


def test_valid_proposal_gets_a_prevote(
    keys: Callable[[int], tuple[bytes, ...]], make_vset: Callable[..., ValidatorSet]
) -> None:
    sks = keys(4)
    d = make(sks)
    d.start_height(1, make_vset(1, 1, 1, 1))
    [v] = sent_votes(d.on_proposal(bundle(sks[0])))
    assert (v.vote_type, v.block_hash, v.validator_index) == (VoteType.PREVOTE, VID, 3)


def test_hostile_proposals_are_dropped(
    keys: Callable[[int], tuple[bytes, ...]], make_vset: Callable[..., ValidatorSet]
) -> None:
    sks = keys(4)
    d = make(sks)
    d.start_height(1, make_vset(1, 1, 1, 1))
    good = bundle(sks[0])
    hostile = [
        bundle(sks[0], chain=CHAIN + 1),  # other chain
        bundle(sks[1], proposer=1),  # not the proposer of round 0
        bundle(sks[1], proposer=0),  # proposer's index, someone else's key
        ProposalBundle(good.proposal, b"another value"),  # value does not match the hash
        ProposalBundle(replace(good.proposal, round=1), VALUE),  # signature over round 0
        bundle(sks[0], h=3),  # two heights ahead
        bundle(sks[0], r=5000),  # too many rounds ahead
    ]
    for b in hostile:
        assert d.on_proposal(b) == [], b
    assert sent_votes(d.on_proposal(good))  # still accepted afterwards


def test_hostile_votes_are_dropped(
    keys: Callable[[int], tuple[bytes, ...]], make_vset: Callable[..., ValidatorSet]
) -> None:
    sks = keys(4)
    d = make(sks)
    d.start_height(1, make_vset(1, 1, 1, 1))
    hostile = [
        vote(sks[0], 0, chain=CHAIN + 1),
        replace(vote(sks[0], 0, r=1), validator_index=1),  # validator 1 did not sign this
        vote(sks[0], 7),  # index outside the set
        vote(sks[0], 0, h=3),
        vote(sks[0], 0, r=5000),
    ]
    for v in hostile:
        assert d.on_vote(v) == [], v
    # A genuine round-1 prevote from validator 0 plus the forged one "from" validator 1
    # would be f+1 and make us skip to round 1: the forgery must not have counted.
    d.on_vote(vote(sks[0], 0, r=1))
    assert d.core.round == 0
    d.on_vote(vote(sks[1], 1, r=1))
    assert d.core.round == 1


def test_next_height_messages_are_buffered_and_replayed(
    keys: Callable[[int], tuple[bytes, ...]], make_vset: Callable[..., ValidatorSet]
) -> None:
    sks = keys(4)
    vset = make_vset(1, 1, 1, 1)
    d = make(sks)
    d.start_height(1, vset)
    d.on_proposal(bundle(sks[0]))
    for i in (0, 1):
        d.on_vote(vote(sks[i], i))
    # Height 2 traffic arrives before we decide height 1.
    v2 = vset.next_height()
    p2 = v2.proposer_index(0)
    early = bundle(sks[p2], h=2, proposer=p2, value=b"height 2")
    assert d.on_proposal(early) == []
    out: list[object] = []
    for i in (0, 1):
        out += d.on_vote(vote(sks[i], i, t=VoteType.PRECOMMIT))
    [decided] = [o for o in out if isinstance(o, Decided)]
    assert decided.height == 1 and decided.value == VALUE
    decided.commit.verify(vset, CHAIN)
    out = d.start_height(2, v2)
    [v] = sent_votes(out)  # the buffered proposal was replayed: we prevote it
    assert (v.height, v.block_hash) == (2, keccak256(b"height 2"))


def test_timeouts_drive_rounds_and_stale_ones_are_ignored(
    keys: Callable[[int], tuple[bytes, ...]], make_vset: Callable[..., ValidatorSet]
) -> None:
    sks = keys(4)
    d = make(sks)
    d.start_height(1, make_vset(1, 1, 1, 1))
    [v] = sent_votes(d.on_timeout(TimeoutEvent(Step.PROPOSE, 1, 0)))
    assert v.block_hash == b"" and v.vote_type == VoteType.PREVOTE
    assert d.on_timeout(TimeoutEvent(Step.PROPOSE, 1, 0)) == []  # fired twice
    assert d.on_timeout(TimeoutEvent(Step.PRECOMMIT, 2, 0)) == []  # other height


def test_refused_own_vote_never_completes_a_commit() -> None:
    """From review: the core counted this node's own precommit although the signer refused it
    (last-signed state ahead of the chain), and decided with 2 real precommits of 4, emitting
    a commit that fails verification. The driver must report no decision instead."""
    from consensus import (
        Decided,
        LastSigned,
        MemorySignerStore,
        PrivValidator,
        Proposal,
        ProposalBundle,
        SignRefused,
        Validator,
        ValidatorSet,
        Vote,
        VoteType,
        keccak256,
        keygen,
        secret_to_public,
        sign,
    )

    sks = [keygen(bytes([i + 1]) * 32) for i in range(4)]
    vset = ValidatorSet([Validator(secret_to_public(sk), 1) for sk in sks])
    proposer = vset.proposer_index(0)
    me = (proposer + 1) % 4
    others = [i for i in range(4) if i not in (me, proposer)]
    store = MemorySignerStore()
    store.state = LastSigned(1, 0, 3, b"x", b"y" * 96)  # already signed a precommit at (1, 0)
    driver = ConsensusDriver(
        7, signer=PrivValidator(sks[me], store), get_value=lambda h: b"A", is_valid=lambda v: True
    )
    out = driver.start_height(1, vset)
    value = b"B"
    proposal = Proposal(7, 1, 0, keccak256(value), -1, proposer)
    out += driver.on_proposal(
        ProposalBundle(proposal.with_signature(sign(sks[proposer], proposal.sign_bytes())), value)
    )
    for vote_type in (VoteType.PREVOTE, VoteType.PRECOMMIT):
        for i in others:
            vote = Vote(7, 1, 0, vote_type, keccak256(value), i)
            out += driver.on_vote(vote.with_signature(sign(sks[i], vote.sign_bytes())))
    assert not [o for o in out if isinstance(o, Decided)]
    assert any(isinstance(o, SignRefused) and "without +2/3" in o.reason for o in out)
