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
    prover_stake,
    provers_at,
    sign_proof,
    unbondings,
)
from execution.staking.proof_evidence import (
    MAX_PROOF_EVIDENCE_BYTES,
    MAX_PROOF_EVIDENCE_PER_BLOCK,
    PROOF_EVIDENCE_MAX_AGE,
)
from execution.staking.records import set_unbondings
from execution.state import State
from execution.types import Block, InvalidBlock, TaskRequest, Transaction
from execution.types.transaction import TASK_SYSTEM_ADDRESS
from execution.zkproof import prove
from execution.zkproof.samples import fib_loop_program, program_elf
from genesis import GWEI, AccountKey, ProtocolParams
from genesis.keys import SECP256K1_N
from genesis.params import ETHER

ALICE, BOB, CAROL, DAVE = account_keys(4)
ELF = program_elf(fib_loop_program(5))
PARAMS = ProtocolParams(min_prover_stake=ETHER, unbonding_period_blocks=300)
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
        sig = sign_proof(signer.private_key, CHAIN_ID, self.task_id, proof)
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
        judge_proof_evidence(setup.chain.state(), raw, CHAIN_ID, setup.chain.height + 1, PARAMS)
    assert info.value.reason == reason
    with pytest.raises(InvalidBlock, match=f"proof evidence #0: {reason}") as block_info:
        _commit(setup.chain, evidence=(raw,))
    assert block_info.value.reason == "invalid_evidence"


# ---- the envelope --------------------------------------------------------------------------
def test_an_envelope_verifies_and_every_tampered_field_is_rejected() -> None:
    task, proof = b"\x11" * 32, b"proof bytes"
    sig = sign_proof(CAROL.private_key, CHAIN_ID, task, proof)
    check_envelope(CHAIN_ID, task, CAROL.address, proof, sig)
    tampered = {
        "chain id": (CHAIN_ID + 1, task, CAROL.address, proof, sig),
        "task id": (CHAIN_ID, b"\x12" + task[1:], CAROL.address, proof, sig),
        "prover": (CHAIN_ID, task, DAVE.address, proof, sig),
        "proof": (CHAIN_ID, task, CAROL.address, b"proof bytez", sig),
        "signature r": (CHAIN_ID, task, CAROL.address, proof, bytes([sig[0] ^ 1]) + sig[1:]),
        "signature s": (CHAIN_ID, task, CAROL.address, proof, sig[:40] + b"\x00" + sig[41:]),
        "recovery id": (CHAIN_ID, task, CAROL.address, proof, sig[:64] + bytes([sig[64] ^ 1])),
        "truncated": (CHAIN_ID, task, CAROL.address, proof, sig[:64]),
        "empty": (CHAIN_ID, task, CAROL.address, proof, b""),
        "v out of range": (CHAIN_ID, task, CAROL.address, proof, sig[:64] + b"\x1b"),
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
        check_envelope(CHAIN_ID, task, CAROL.address, proof, high)
    # Another key's signature naming CAROL.
    forged = sign_proof(DAVE.private_key, CHAIN_ID, task, proof)
    with pytest.raises(BadEnvelope, match="not signed by"):
        check_envelope(CHAIN_ID, task, CAROL.address, proof, forged)


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
    # A signature for another chain.
    sig = sign_proof(CAROL.private_key, CHAIN_ID + 1, setup.task_id, setup.bad)
    raw = InvalidProofEvidence(setup.task_id, CAROL.address, sig, setup.bad).encode()
    _rejected(setup, raw, "bad_signature")
    # A task the chain does not have.
    task = b"\x99" * 32
    sig = sign_proof(CAROL.private_key, CHAIN_ID, task, setup.bad)
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
        judge_proof_evidence(setup.chain.state(), raw, CHAIN_ID, late, PARAMS)
    assert info.value.reason == "too_old"
    judge_proof_evidence(setup.chain.state(), raw, CHAIN_ID, late - 1, PARAMS)
    with pytest.raises(InvalidBlock, match="too_many"):
        _commit(setup.chain, evidence=(raw,) * (MAX_PROOF_EVIDENCE_PER_BLOCK + 1))
    # The byte bound: two copies of this proof's evidence exceed it (a block is one gossip
    # message); a single proof beyond the per-item bound is too large whatever it holds.
    assert 2 * len(raw) > MAX_PROOF_EVIDENCE_BYTES >= len(raw)
    with pytest.raises(InvalidBlock, match="too_many: invalid-proof evidence bytes"):
        _commit(setup.chain, evidence=(raw, raw))
    big = setup.evidence(setup.bad + bytes(MAX_PROOF_EVIDENCE_BYTES))
    with pytest.raises(RejectedEvidence) as info:
        judge_proof_evidence(setup.chain.state(), big, CHAIN_ID, setup.chain.height + 1, PARAMS)
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
    judge_proof_evidence(chain.state(), raw, CHAIN_ID, chain.height + 1, PARAMS)  # unbonding
    # Once its unbonding funds are released, the ex-prover's record stays but holds nothing.
    released = chain.state().copy()
    set_unbondings(released, CAROL.address, [])
    with pytest.raises(RejectedEvidence) as info:
        judge_proof_evidence(released, raw, CHAIN_ID, chain.height + 1, PARAMS)
    assert info.value.reason == "nothing_at_stake"


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
