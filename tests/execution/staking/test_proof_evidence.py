"""Invalid-proof evidence (issue 9): the proof envelope, the judgement of evidence, and the
slash it brings, on a real chain with real task proofs (docs/staking.md, Slashing)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from chain_helpers import CHAIN_ID, account_keys, make_genesis, validator_key

from execution.chain import Chain
from execution.programs import image_id_bytes_of_elf
from execution.staking import (
    BadEnvelope,
    InvalidProofEvidence,
    ProverStatus,
    RejectedEvidence,
    build_register_prover_tx,
    build_unregister_prover_tx,
    check_envelope,
    is_proof_evidence,
    judge_proof_evidence,
    proof_message,
    prover_stake,
    provers_at,
    sign_proof,
    slash_invalid_proofs,
    unbondings,
)
from execution.staking.proof_evidence import (
    MAX_BLOCK_BULK_BYTES,
    MAX_EVIDENCE_PROOF_BYTES,
    MAX_LONE_EVIDENCE_BYTES,
    MAX_PROOF_EVIDENCE_BYTES,
    MAX_PROOF_EVIDENCE_PER_BLOCK,
    check_evidence_room,
)
from execution.staking.records import set_unbondings
from execution.state import State
from execution.types import Block, InvalidBlock, TaskRequest, Transaction
from execution.types.hashing import keccak256
from execution.types.transaction import TASK_SYSTEM_ADDRESS
from execution.zkproof import prove
from execution.zkproof.samples import fib_loop_program, program_elf
from genesis import GWEI, AccountKey, ProtocolParams
from genesis.keys import SECP256K1_N
from genesis.params import ETHER, PROOF_EVIDENCE_MAX_AGE

ALICE, BOB, CAROL, DAVE = account_keys(4)
ELF = program_elf(fib_loop_program(5))
PARAMS = ProtocolParams(min_prover_stake=ETHER, unbonding_period_blocks=300)
GENESIS_HASH = make_genesis(params=PARAMS).hash
CUT = ETHER * PARAMS.invalid_proof_slash_ppm // 1_000_000


def _tx(key: AccountKey, nonce: int, to: bytes, data: bytes, gas: int) -> bytes:
    return Transaction(CHAIN_ID, nonce, GWEI, 3 * GWEI, gas, to, 0, data).sign(key.private_key).raw


def _commit(
    chain: Chain, txs: list[bytes] | None = None, evidence: tuple[bytes, ...] = ()
) -> Block:
    block = chain.build_block(
        txs or [], validator_key()[0].address, chain.head.header.time_ms + 1000, b"", evidence
    )
    chain.commit_block(block)
    return block


@dataclass
class Setup:
    chain: Chain
    task_id: bytes
    good: bytes  # a valid proof of the task, made for CAROL
    bad: bytes  # a valid proof of the program on another input, made for CAROL

    def evidence(self, proof: bytes, signer: AccountKey = CAROL, prover: bytes = b"") -> bytes:
        sig = sign_proof(signer.private_key, GENESIS_HASH, self.task_id, proof)
        return InvalidProofEvidence(self.task_id, prover or signer.address, sig, proof).encode()


def _setup(tmp_path: Path) -> Setup:
    chain = Chain.open(tmp_path / "c", make_genesis(params=PARAMS))
    register = [
        build_register_prover_tx(k.private_key, chain_id=CHAIN_ID, nonce=0, amount=ETHER).raw
        for k in (CAROL, DAVE)
    ]
    _commit(chain, [_tx(ALICE, 0, b"", ELF, 50_000_000), *register])  # height 1
    request = TaskRequest(image_id_bytes_of_elf(ELF), b"", 10_000, 1000)
    block = _commit(chain, [_tx(BOB, 0, TASK_SYSTEM_ADDRESS, request.encode(), 100_000)])
    receipts = chain.receipts(block.hash)
    assert receipts is not None
    task_id = receipts[0].created
    return Setup(chain, task_id, *_proofs(task_id))


# The task id is the transaction's hash, the same in every test (seeded keys, same nonces):
# each proof is made once per process.
_PROOF_CACHE: dict[bytes, tuple[bytes, bytes]] = {}


def _proofs(task_id: bytes) -> tuple[bytes, bytes]:
    if task_id not in _PROOF_CACHE:
        good = prove(ELF, b"", "conjectured", prover=CAROL.address, task_id=task_id).to_bytes()
        bad = prove(ELF, b"x", "conjectured", prover=CAROL.address, task_id=task_id).to_bytes()
        _PROOF_CACHE[task_id] = (good, bad)
    return _PROOF_CACHE[task_id]


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    s = _setup(tmp_path)
    yield s
    s.chain.close()


def _held(state: State) -> int:
    """Every wei of the accounts this test touches, with what was slashed (burned)."""
    total = 0
    for k in (ALICE, BOB, CAROL, DAVE):
        total += state.account(k.address).balance
        total += sum(e.amount for e in unbondings(state, k.address))
        record = prover_stake(state, k.address)
        if record is not None:
            total += record.stake + record.slashed
    return total


def _rejected(setup: Setup, raw: bytes, reason: str) -> None:
    with pytest.raises(RejectedEvidence) as info:
        judge_proof_evidence(setup.chain.state(), raw, GENESIS_HASH, setup.chain.height + 1, PARAMS)
    assert info.value.reason == reason
    with pytest.raises(InvalidBlock, match=f"proof evidence #0: {reason}") as block_info:
        _commit(setup.chain, evidence=(raw,))
    assert (block_info.value.reason, block_info.value.index) == ("invalid_evidence", 0)


# ---- the envelope --------------------------------------------------------------------------
def test_an_envelope_verifies_and_every_tampered_field_is_rejected() -> None:
    task, proof, genesis = b"\x11" * 32, b"proof bytes", GENESIS_HASH
    sig = sign_proof(CAROL.private_key, genesis, task, proof)
    check_envelope(genesis, task, CAROL.address, proof, sig)
    # The signed message is the documented layout: tag, genesis hash, task, prover, proof hash.
    assert proof_message(genesis, task, CAROL.address, proof) == keccak256(
        b"ivcnet-proof-v2" + genesis + task + CAROL.address + keccak256(proof)
    )
    tampered = {
        "genesis hash": (bytes([genesis[0] ^ 1]) + genesis[1:], task, CAROL.address, proof, sig),
        "no genesis hash": (b"", task, CAROL.address, proof, sig),
        "task id": (genesis, b"\x12" + task[1:], CAROL.address, proof, sig),
        "prover": (genesis, task, DAVE.address, proof, sig),
        "proof": (genesis, task, CAROL.address, b"proof bytez", sig),
        "signature r": (genesis, task, CAROL.address, proof, bytes([sig[0] ^ 1]) + sig[1:]),
        "signature s": (genesis, task, CAROL.address, proof, sig[:40] + b"\x00" + sig[41:]),
        "recovery id": (genesis, task, CAROL.address, proof, sig[:64] + bytes([sig[64] ^ 1])),
        "truncated": (genesis, task, CAROL.address, proof, sig[:64]),
        "empty": (genesis, task, CAROL.address, proof, b""),
        "v out of range": (genesis, task, CAROL.address, proof, sig[:64] + b"\x1b"),
    }
    for name, args in tampered.items():
        with pytest.raises(BadEnvelope):
            check_envelope(*args)
            pytest.fail(f"tampered {name} accepted")
    # The same signature with high s (the other valid ECDSA signature) is refused: one
    # signature per message and key.
    s = int.from_bytes(sig[32:64], "big")
    high = sig[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([sig[64] ^ 1])
    with pytest.raises(BadEnvelope, match="range"):
        check_envelope(genesis, task, CAROL.address, proof, high)
    # Another key's signature naming CAROL.
    forged = sign_proof(DAVE.private_key, genesis, task, proof)
    with pytest.raises(BadEnvelope, match="not signed by"):
        check_envelope(genesis, task, CAROL.address, proof, forged)


def test_evidence_kinds_are_told_apart() -> None:
    ev = InvalidProofEvidence(b"\x01" * 32, b"\x02" * 20, b"\x03" * 65, b"p").encode()
    assert is_proof_evidence(ev)
    assert InvalidProofEvidence.decode(ev).proof == b"p"
    assert not is_proof_evidence(bytes.fromhex("c4c2c0c0c0"))  # a list of lists: two votes
    assert not is_proof_evidence(b"")
    for bad in (ev[:-1], ev + b"\x00", b"\xc1\x02"):
        with pytest.raises(RejectedEvidence) as info:
            InvalidProofEvidence.decode(bad)
        assert info.value.reason == "malformed"


# ---- the judgement -------------------------------------------------------------------------
def test_an_invalid_signed_proof_slashes_its_prover_once(setup: Setup) -> None:
    chain = setup.chain
    raw = setup.evidence(setup.bad)
    before = _held(chain.state())
    _commit(chain, evidence=(raw,))
    state = chain.state()
    record = prover_stake(state, CAROL.address)
    assert record is not None
    assert (record.stake, record.slashed, record.status) == (0, CUT, ProverStatus.UNREGISTERED)
    # The rest unbonds; it leaves the prover set from the next block; DAVE is untouched.
    assert [e.amount for e in unbondings(state, CAROL.address)] == [ETHER - CUT]
    assert CAROL.address not in provers_at(state, chain.height + 1)
    dave = prover_stake(state, DAVE.address)
    assert dave is not None and (dave.stake, dave.slashed) == (ETHER, 0)
    # Supply is conserved: what left the stake is in the unbonding entry or burned (slashed).
    assert _held(state) == before
    # Replays are refused: the same evidence, or another bad proof of the same task.
    _rejected(setup, raw, "duplicate")
    _rejected(setup, setup.evidence(setup.bad + b"\x00"), "duplicate")


def test_a_valid_proof_is_no_evidence(setup: Setup) -> None:
    _rejected(setup, setup.evidence(setup.good), "proof_valid")
    record = prover_stake(setup.chain.state(), CAROL.address)
    assert record is not None and record.slashed == 0


def test_forged_unknown_and_unregistered_evidence_is_rejected(setup: Setup) -> None:
    # DAVE signs CAROL's name on a bad proof: nobody is convicted.
    _rejected(setup, setup.evidence(setup.bad, signer=DAVE, prover=CAROL.address), "bad_signature")
    # A signature for another chain of the same chain id (a genesis that differs in one
    # parameter), as the old envelope (chain id only) would have accepted.
    other = make_genesis(params=replace(PARAMS, invalid_proof_slash_ppm=1))
    assert other.eth_chain_id == setup.chain.chain_id and other.hash != GENESIS_HASH
    sig = sign_proof(CAROL.private_key, other.hash, setup.task_id, setup.bad)
    raw = InvalidProofEvidence(setup.task_id, CAROL.address, sig, setup.bad).encode()
    _rejected(setup, raw, "bad_signature")
    # A task the chain does not have.
    task = b"\x99" * 32
    sig = sign_proof(CAROL.private_key, GENESIS_HASH, task, setup.bad)
    _rejected(
        setup, InvalidProofEvidence(task, CAROL.address, sig, setup.bad).encode(), "unknown_task"
    )
    # A signer that never registered as a prover.
    _rejected(setup, setup.evidence(setup.bad, signer=BOB), "not_prover")
    # Malformed bytes of the evidence kind.
    _rejected(setup, setup.evidence(setup.bad)[:-1], "malformed")


def test_old_evidence_and_too_much_evidence_are_rejected(setup: Setup) -> None:
    raw = setup.evidence(setup.bad)
    task = setup.chain.state().task(setup.task_id)
    assert task is not None
    late = task.deadline_height + PROOF_EVIDENCE_MAX_AGE + 1
    with pytest.raises(RejectedEvidence) as info:
        judge_proof_evidence(setup.chain.state(), raw, GENESIS_HASH, late, PARAMS)
    assert info.value.reason == "too_old"
    judge_proof_evidence(setup.chain.state(), raw, GENESIS_HASH, late - 1, PARAMS)
    # The age is the genesis parameter proof_evidence_max_age_blocks.
    shorter = replace(PARAMS, proof_evidence_max_age_blocks=PROOF_EVIDENCE_MAX_AGE - 1)
    with pytest.raises(RejectedEvidence) as info:
        judge_proof_evidence(setup.chain.state(), raw, GENESIS_HASH, late - 1, shorter)
    assert info.value.reason == "too_old"
    with pytest.raises(InvalidBlock, match="too_many"):
        _commit(setup.chain, evidence=(raw,) * (MAX_PROOF_EVIDENCE_PER_BLOCK + 1))
    # The byte bound: two copies of this proof's evidence exceed the bound of several items (a
    # block is one gossip message); a single proof beyond the per-item bound is too large
    # whatever it holds.
    assert 2 * len(raw) > MAX_PROOF_EVIDENCE_BYTES >= len(raw)
    with pytest.raises(InvalidBlock, match="not_alone: 2 invalid-proof items"):
        _commit(setup.chain, evidence=(raw, raw))
    big = setup.evidence(setup.bad + bytes(MAX_EVIDENCE_PROOF_BYTES))
    with pytest.raises(RejectedEvidence) as info:
        judge_proof_evidence(setup.chain.state(), big, GENESIS_HASH, setup.chain.height + 1, PARAMS)
    assert info.value.reason == "too_large"


def test_a_prover_that_left_pays_from_its_unbonding_stake(setup: Setup) -> None:
    chain = setup.chain
    _commit(chain, [build_unregister_prover_tx(CAROL.private_key, chain_id=CHAIN_ID, nonce=1).raw])
    before = _held(chain.state())
    _commit(chain, evidence=(setup.evidence(setup.bad),))
    state = chain.state()
    assert [e.amount for e in unbondings(state, CAROL.address)] == [ETHER - CUT]
    record = prover_stake(state, CAROL.address)
    assert record is not None and record.slashed == CUT
    assert _held(state) == before


def test_a_prover_with_nothing_left_at_stake_is_no_evidence(setup: Setup) -> None:
    chain = setup.chain
    _commit(chain, [build_unregister_prover_tx(CAROL.private_key, chain_id=CHAIN_ID, nonce=1).raw])
    raw = setup.evidence(setup.bad)
    judge_proof_evidence(chain.state(), raw, GENESIS_HASH, chain.height + 1, PARAMS)  # unbonding
    # Once its unbonding funds are released, the ex-prover's record stays but holds nothing.
    released = chain.state().copy()
    set_unbondings(released, CAROL.address, [])
    with pytest.raises(RejectedEvidence) as info:
        judge_proof_evidence(released, raw, GENESIS_HASH, chain.height + 1, PARAMS)
    assert info.value.reason == "nothing_at_stake"


def test_a_prover_that_left_before_the_task_is_no_evidence(setup: Setup) -> None:
    from execution.staking.records import ProverStake, Unbonding, set_prover_stake
    from node.evidence_pool import EvidencePool

    # CAROL's funds still unbond, but she took them out in block 1, before the task's block 2:
    # they were never at stake for it, the slash would burn nothing, and the item would only
    # cost every validator a proof verification. The pool and the block refuse it alike.
    chain = setup.chain
    task = chain.state().task(setup.task_id)
    assert task is not None and task.submitted_height == 2
    raw = setup.evidence(setup.bad)
    ev = InvalidProofEvidence.decode(raw)

    def left_in(block: int) -> State:
        state = chain.state().copy()
        set_prover_stake(state, ProverStake(CAROL.address, 0, ProverStatus.UNREGISTERED, 0, 0))
        set_unbondings(state, CAROL.address, [Unbonding(ETHER, block + 300)])
        return state

    for block, at_stake in ((1, False), (2, True)):
        state = left_in(block)
        pool = EvidencePool(
            CHAIN_ID,
            lambda h: None,  # type: ignore[arg-type,return-value]
            PARAMS,
            GENESIS_HASH,
        )
        assert pool.add_proof(ev, state, chain.height) is at_stake
        if at_stake:
            judge_proof_evidence(state, raw, GENESIS_HASH, chain.height + 1, PARAMS)
            continue
        with pytest.raises(RejectedEvidence) as info:
            judge_proof_evidence(state, raw, GENESIS_HASH, chain.height + 1, PARAMS)
        assert info.value.reason == "nothing_at_stake"
    # Funds that left in the task's block are slashed (the block's judgement, then the slash).
    state = left_in(2)
    assert slash_invalid_proofs(state, [raw], GENESIS_HASH, chain.height + 1, PARAMS) == [
        CAROL.address
    ]
    assert [e.amount for e in unbondings(state, CAROL.address)] == [ETHER - CUT]


def test_a_prover_that_registers_again_starts_a_new_miss_count(setup: Setup) -> None:
    from execution.staking import StakingOp, StakingOpKind, apply_staking
    from execution.staking.records import ProverStake, set_prover_stake

    state = setup.chain.state().copy()
    set_prover_stake(state, ProverStake(CAROL.address, 0, ProverStatus.UNREGISTERED, 5, 3))
    op = StakingOp(StakingOpKind.REGISTER_PROVER)
    apply_staking(state, CAROL.address, op, ETHER, PARAMS, setup.chain.height + 1)
    record = prover_stake(state, CAROL.address)
    assert record is not None
    assert (record.stake, record.status, record.slashed, record.misses) == (
        ETHER,
        ProverStatus.REGISTERED,
        5,
        0,
    )
    # A top-up of a registered prover keeps its count.
    set_prover_stake(state, replace(record, misses=2))
    apply_staking(state, CAROL.address, op, ETHER, PARAMS, setup.chain.height + 1)
    record = prover_stake(state, CAROL.address)
    assert record is not None and (record.stake, record.misses) == (2 * ETHER, 2)


# ---- large proofs (up to the lone-leaf bound) ----------------------------------------------
def _large(setup: Setup, size: int = 1_500_000, signer: AccountKey = CAROL) -> bytes:
    """Evidence of a `size`-byte proof that fails for the task: a real proof of the program on
    another input with bytes appended (a zkVM proof of many cycles is this large; proving one
    takes minutes)."""
    return setup.evidence(setup.bad + bytes(size - len(setup.bad)), signer=signer)


def test_a_large_invalid_proof_goes_alone_and_is_slashed_through_a_block(setup: Setup) -> None:
    chain = setup.chain
    raw = _large(setup)
    assert MAX_PROOF_EVIDENCE_BYTES < len(raw) <= MAX_LONE_EVIDENCE_BYTES
    small = setup.evidence(setup.bad, signer=DAVE)  # DAVE's signature on a proof for CAROL
    # Rule: an item above 1 MiB goes alone (whatever the order).
    for pair in ((raw, small), (small, raw)):
        with pytest.raises(InvalidBlock, match="not_alone") as info:
            _commit(chain, evidence=pair)
        assert info.value.reason == "invalid_evidence"
    # Rule: it and the block's Universal Proofs stay within the bulk bound (one gossip message).
    check_evidence_room([raw], MAX_BLOCK_BULK_BYTES - len(raw))
    with pytest.raises(InvalidBlock, match="no_room"):
        check_evidence_room([raw], MAX_BLOCK_BULK_BYTES - len(raw) + 1)
    # Rule: a lone item of more than the lone bound is refused for its bytes.
    with pytest.raises(InvalidBlock, match="too_many: invalid-proof evidence bytes"):
        check_evidence_room([bytes(MAX_LONE_EVIDENCE_BYTES + 1)], 0)
    before = _held(chain.state())
    _commit(chain, evidence=(raw,))
    record = prover_stake(chain.state(), CAROL.address)
    assert record is not None
    assert (record.stake, record.slashed, record.status) == (0, CUT, ProverStatus.UNREGISTERED)
    assert _held(chain.state()) == before
    # The largest proof a lone leaf may have is convictable; one byte more is too large.
    top = _large(setup, MAX_EVIDENCE_PROOF_BYTES, signer=DAVE)
    assert len(top) <= MAX_LONE_EVIDENCE_BYTES
    _commit(chain, evidence=(top,))
    dave = prover_stake(chain.state(), DAVE.address)
    assert dave is not None and dave.slashed == CUT


def test_the_bounds_keep_a_block_with_a_lone_item_in_one_gossip_message() -> None:
    from node.aggregator import MAX_LONE_LEAF_BYTES
    from node.node import MAX_BLOCK_BYTES
    from p2p.topics import DEFAULT_TOPICS, TOPIC_PROPOSALS

    # A proof that a block could accept as a lone leaf can also be convicted.
    assert MAX_EVIDENCE_PROOF_BYTES == MAX_LONE_LEAF_BYTES
    # The node's block (proofs and evidence taken first, transactions in the rest) is at most
    # MAX_BLOCK_BYTES, the bulk bound fits in it, and 1 MiB remains for the header, the last
    # commit (one aggregate signature and a bitmap) and the proposal's envelope.
    assert MAX_BLOCK_BULK_BYTES <= MAX_BLOCK_BYTES
    assert DEFAULT_TOPICS[TOPIC_PROPOSALS].max_size - MAX_BLOCK_BYTES >= 1 << 20


def test_the_pool_proposes_a_large_item_alone_when_it_fits(setup: Setup) -> None:
    from node.evidence_pool import EvidencePool

    chain = setup.chain
    state = chain.state()
    pool = EvidencePool(
        CHAIN_ID,
        lambda h: None,  # type: ignore[arg-type,return-value]
        PARAMS,
        GENESIS_HASH,
        chain.state,
    )
    large = InvalidProofEvidence.decode(_large(setup))
    small = InvalidProofEvidence.decode(setup.evidence(setup.bad, signer=DAVE))
    assert pool.add_proof(large, state, chain.height)
    assert pool.add_proof(small, state, chain.height)
    height = chain.height + 1
    # Oldest first: the large item alone when the block's Universal Proofs leave it room ...
    assert pool.for_block(height) == (large.encode(),)
    # ... and the small ones otherwise (the large one waits).
    assert pool.for_block(height, MAX_BLOCK_BULK_BYTES - len(large.encode()) + 1) == (
        small.encode(),
    )
    _commit(chain, evidence=pool.for_block(height))
    # Slashed: the next block's re-check (state rules only) forgets it and proposes the next.
    assert pool.for_block(chain.height + 1) == (small.encode(),)
    assert pool.proof_evidence == [small]


async def test_a_proposal_with_a_large_item_crosses_real_gossip_and_slashes(
    setup: Setup, tmp_path: Path
) -> None:
    """The block travels as a node sends it (a signed proposal bundle on the proposal topic)
    between two libp2p hosts on 127.0.0.1; the receiver decodes it and the chain applies it."""
    import trio

    from consensus import bls
    from consensus.messages import Proposal, ProposalBundle
    from p2p import TOPIC_PROPOSALS, DialConfig, P2PConfig, open_p2p_service

    chain = setup.chain
    block = chain.build_block(
        [], validator_key()[0].address, chain.head.header.time_ms + 1000, b"", (_large(setup),)
    )
    value = block.encode()
    proposal = Proposal(CHAIN_ID, block.height, 0, block.hash, -1, 0)
    signed = replace(
        proposal, signature=bls.sign(validator_key()[0].secret_key, proposal.sign_bytes())
    )
    message = ProposalBundle(signed, value).encode()
    assert len(message) > 1_500_000
    dial = DialConfig(attempts=3, backoff_initial_s=0.05, connect_timeout_s=5.0)
    async with (
        open_p2p_service(P2PConfig(home=tmp_path / "a", dial=dial)) as a,
        open_p2p_service(P2PConfig(home=tmp_path / "b", dial=dial)) as b,
    ):
        inbox = b.subscribe(TOPIC_PROPOSALS)
        assert inbox is not None
        await a.connect(b.listen_addrs[0])
        with trio.fail_after(60):
            while True:  # the first publish may precede b's subscription reaching a
                await a.publish(TOPIC_PROPOSALS, message)
                with trio.move_on_after(2):
                    received = await inbox.receive()
                    break
    bundle = ProposalBundle.decode(received.data)
    assert bls.verify(
        validator_key()[0].public_key, bundle.proposal.sign_bytes(), bundle.proposal.signature
    )
    chain.commit_block(Block.decode(bundle.value))
    record = prover_stake(chain.state(), CAROL.address)
    assert record is not None and record.slashed == CUT


def test_every_judge_of_evidence_must_be_told_the_genesis_hash() -> None:
    import inspect

    from execution.transition import BlockContext, apply_block
    from node.evidence_pool import EvidencePool

    # A judge with a wrong genesis hash refuses every valid item (bad_signature), so a node that
    # forgot it would reject blocks every other node accepts: no default anywhere.
    for judge in (apply_block, BlockContext, EvidencePool):
        parameter = inspect.signature(judge).parameters["genesis_hash"]
        assert parameter.default is inspect.Parameter.empty, judge
