"""Invalid-proof evidence: a prover's signed task proof that fails verification against its task.

    InvalidProofEvidence = rlp([1, task_id(32), prover(20), signature(65), proof])

It travels in a block's evidence list beside duplicate-vote evidence (`rlp([vote_a, vote_b])`,
consensus.evidence); the two are told apart by the first item, an integer kind here and a list
(a vote) there (`is_proof_evidence`). Unlike duplicate-vote evidence, which consensus checks
against the validator set, this kind is judged entirely by the state transition, because the
judgement needs the task record and the prover stake in the state:

1. `malformed`: not the layout above (canonical RLP, field lengths);
2. `too_large`: the proof is longer than MAX_EVIDENCE_PROOF_BYTES;
3. `bad_signature`: the envelope (execution.staking.proof_envelope) is not signed by the
   prover it names, over this chain's genesis hash;
4. `unknown_task`: the state holds no such task;
5. `too_old`: the block is more than `proof_evidence_max_age_blocks` (genesis, default 100)
   past the task's deadline (the genesis makes unbonding_period_blocks cover deadline + age,
   so a prover that unregisters when the task is assigned is still slashable then);
6. `not_prover`: the prover never registered (it has no stake to slash);
   `nothing_at_stake`: it registered once, but is no longer registered and the slash would
   burn nothing: no prover funds it took out at or after the task's block are still unbonding
   (an ex-prover that left before the task, or whose funds came back, could otherwise sign bad
   proofs for free: each item costs every validator a proof verification and burns nothing).
   The rule and the slash read one function (`_unbonding_cut`), so they cannot disagree;
7. `duplicate`: this prover was already slashed for a proof of this task (one slash per
   (prover, task), whatever proof bytes it signed);
8. `proof_valid`: the proof passes the leaf rules of a Universal Proof for that task
   (execution.universal.verify_leaf, with the task's status and block not considered: a proof
   that was wrong when sent stays wrong after the task was proven by someone else).

The checks run in that order, so everything cheap (hashing the proof and one signature
recovery, a few trie reads) comes before the one costly step, the proof verification
(0.1-0.3 s). A block holds at most MAX_PROOF_EVIDENCE_PER_BLOCK items and
MAX_PROOF_EVIDENCE_BYTES bytes of them (`too_many`), or one item of up to
MAX_LONE_EVIDENCE_BYTES alone (`not_alone`) whose bytes and the block's Universal Proofs' stay
within MAX_BLOCK_BULK_BYTES (`no_room`). A block with any bad item is invalid
(`invalid_evidence`, the detail names the rule), like one with a bad transaction: the
proposer's pool judges each item before it proposes it.

Judged valid, the evidence slashes `invalid_proof_slash_ppm` of the prover stake (burned) and
unregisters the prover (the rest unbonds): an honest prover verifies its own proof before it
publishes (node.prover.service), so a signed invalid proof is deliberate or a broken prover,
and in both cases it should not stay first in line for later tasks. A prover that already
unregistered is cut the same fraction from the prover stake it took out at or after the task's
block and still has locked (the rule of missed tasks, execution.staking.slashing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import rlp
from rlp.exceptions import RLPException
from rlp.sedes import Binary, List, big_endian_int, binary

from execution.staking.operations import unregister_prover
from execution.staking.proof_envelope import BadEnvelope, check_envelope
from execution.staking.records import (
    ProverStake,
    ProverStatus,
    Unbonding,
    prover_stake,
    set_prover_stake,
    set_unbondings,
    unbondings,
)
from execution.state import State, Task, TaskStatus
from execution.types.errors import InvalidBlock
from execution.types.hashing import keccak256
from genesis.params import ProtocolParams

EVIDENCE_KIND_INVALID_PROOF = 1
MAX_PROOF_EVIDENCE_PER_BLOCK = 4
# A proposal travels in one gossip message of at most 4 MiB (p2p.topics); a node fills at most
# 3 MiB of a block with Universal Proofs, evidence and transactions (node.node.MAX_BLOCK_BYTES,
# from which proofs and evidence are taken first), leaving 1 MiB for the header, the last
# commit and the proposal's envelope. Several items share 1 MiB.
MAX_PROOF_EVIDENCE_BYTES = 1 << 20
# A task proof may be as large as a lone Universal Proof leaf (node.aggregator.
# MAX_LONE_LEAF_BYTES, 2 MiB): a proof that could be accepted can also be convicted. An item
# above MAX_PROOF_EVIDENCE_BYTES goes alone (no other invalid-proof item in its block), and it
# and the block's Universal Proofs together stay within MAX_BLOCK_BULK_BYTES, so such a block
# still fits one gossip message (the rule the aggregator follows for a lone large leaf).
MAX_EVIDENCE_PROOF_BYTES = 2 << 20
MAX_LONE_EVIDENCE_BYTES = MAX_EVIDENCE_PROOF_BYTES + 256  # room for the other fields
MAX_BLOCK_BULK_BYTES = 3 << 20
PPM = 1_000_000

_SEDES = List(
    [
        big_endian_int,
        Binary.fixed_length(32),
        Binary.fixed_length(20),
        Binary.fixed_length(65),
        binary,
    ],
    strict=True,
)


class RejectedEvidence(Exception):
    """Invalid-proof evidence that convicts nobody; `reason` names the failed rule."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


@dataclass(frozen=True)
class InvalidProofEvidence:
    task_id: bytes
    prover: bytes
    signature: bytes
    proof: bytes

    def encode(self) -> bytes:
        return bytes(
            rlp.encode(
                [
                    EVIDENCE_KIND_INVALID_PROOF,
                    self.task_id,
                    self.prover,
                    self.signature,
                    self.proof,
                ],
                _SEDES,
            )
        )

    @classmethod
    def decode(cls, raw: bytes) -> InvalidProofEvidence:
        # pyrlp raises TypeError/ValueError on some shapes its sedes do not expect
        try:
            kind, task_id, prover, signature, proof = rlp.decode(raw, sedes=_SEDES, strict=True)
            canonical = rlp.encode([kind, task_id, prover, signature, proof], _SEDES) == raw
        except (RLPException, TypeError, ValueError) as exc:
            raise RejectedEvidence("malformed", str(exc)) from exc
        if kind != EVIDENCE_KIND_INVALID_PROOF or not canonical:
            raise RejectedEvidence("malformed", "not canonical invalid-proof evidence")
        return cls(task_id, prover, signature, proof)

    def hash(self) -> bytes:
        return keccak256(self.encode())


def is_proof_evidence(raw: bytes) -> bool:
    """True if `raw` is (meant as) invalid-proof evidence: an RLP list whose first item is a
    string (duplicate-vote evidence starts with a vote, a list). Read from the headers alone,
    so that broken bytes of this kind are judged here (`malformed`), not as votes."""
    if not raw or raw[0] < 0xC0:
        return False
    first = 1 if raw[0] <= 0xF7 else 1 + raw[0] - 0xF7  # after the list's length prefix
    return len(raw) > first and raw[first] < 0xC0


def proof_slash_key(prover: bytes, task_id: bytes) -> bytes:
    """The state record that marks `prover` as slashed for a proof of `task_id`."""
    return keccak256(b"ivcnet/proof-slash/" + prover + task_id)


def check_evidence_cheap(
    state: State,
    ev: InvalidProofEvidence,
    genesis_hash: bytes,
    height: int,
    params: ProtocolParams,
) -> Task:
    """Every rule but the proof verification (rules 2-7); return the task. Cheap: the node's
    pool runs it on its event loop when an item arrives."""
    check_evidence_envelope(ev, genesis_hash)
    return check_evidence_state(state, ev, height, params)


def check_evidence_envelope(ev: InvalidProofEvidence, genesis_hash: bytes) -> None:
    """Rules 2-3, which read nothing but the item: their verdict never changes, so a pool
    checks them once (hashing a 2 MiB proof takes milliseconds)."""
    # Rule: the proof is at most MAX_EVIDENCE_PROOF_BYTES.
    if len(ev.proof) > MAX_EVIDENCE_PROOF_BYTES:
        raise RejectedEvidence("too_large", f"a proof of {len(ev.proof)} bytes")
    # Rule: the envelope is the named prover's signature over this proof of this task.
    try:
        check_envelope(genesis_hash, ev.task_id, ev.prover, ev.proof, ev.signature)
    except BadEnvelope as exc:
        raise RejectedEvidence("bad_signature", str(exc)) from exc


def check_evidence_state(
    state: State, ev: InvalidProofEvidence, height: int, params: ProtocolParams
) -> Task:
    """Rules 4-7, against `state` for a block at `height` (a few trie reads); return the task.
    The pool and the block's judgement both call this, so every node agrees on them."""
    task = state.task(ev.task_id)
    # Rule: the task is in the state.
    if task is None:
        raise RejectedEvidence("unknown_task", ev.task_id.hex())
    # Rule: not more than proof_evidence_max_age_blocks past the task's deadline.
    if height > task.deadline_height + params.proof_evidence_max_age_blocks:
        raise RejectedEvidence("too_old", f"task deadline {task.deadline_height}")
    # Rule: the prover has (or had) a prover stake.
    record = prover_stake(state, ev.prover)
    if record is None:
        raise RejectedEvidence("not_prover", ev.prover.hex())
    # Rule: the conviction takes something (it unregisters the prover, or burns unbonding funds).
    if not _at_stake(state, record, task.submitted_height, params):
        raise RejectedEvidence("nothing_at_stake", ev.prover.hex())
    # Rule: one slash per (prover, task).
    if state.record(proof_slash_key(ev.prover, ev.task_id)):
        raise RejectedEvidence("duplicate", f"{ev.prover.hex()} for {ev.task_id.hex()}")
    return task


def _at_stake(state: State, record: ProverStake, task_height: int, params: ProtocolParams) -> bool:
    if record.status is ProverStatus.REGISTERED:
        return True  # even with no stake (a genesis prover): conviction unregisters it
    return any(_unbonding_cut(e, task_height, params) for e in unbondings(state, record.address))


def _unbonding_cut(e: Unbonding, task_height: int, params: ProtocolParams) -> int:
    """What a conviction for a task of block `task_height` burns from an ex-prover's unbonding
    entry `e`: a fraction of prover funds (no BLS key: a validator's carry theirs) taken out
    at or after that block; 0 for any other entry. Funds that left before the task were never
    at stake for it."""
    unbonded_at = e.release_height - params.unbonding_period_blocks
    if e.bls_public_key or unbonded_at < task_height:
        return 0
    return e.amount * params.invalid_proof_slash_ppm // PPM


def check_proof_fails(task: Task, ev: InvalidProofEvidence, profile: str) -> None:
    """Rule 8: RejectedEvidence("proof_valid") if the proof passes the leaf rules for `task`.
    Touches nothing but its arguments (a node runs it in a worker thread)."""
    from execution.universal import InvalidUniversalProof, ProofLeaf, verify_leaf

    # The task's status and block do not matter: the proof is judged as it was when sent.
    pending = replace(task, status=TaskStatus.PENDING)
    leaf = ProofLeaf(ev.task_id, ev.prover, ev.proof)
    try:
        verify_leaf(leaf, pending, task.submitted_height, profile, "evidence")
    except InvalidUniversalProof:
        return
    raise RejectedEvidence("proof_valid", ev.task_id.hex())


def judge_proof_evidence(
    state: State, raw: bytes, genesis_hash: bytes, height: int, params: ProtocolParams
) -> InvalidProofEvidence:
    """The evidence if it convicts its prover in a block at `height`; RejectedEvidence
    naming the first failed rule otherwise."""
    ev = InvalidProofEvidence.decode(raw)
    task = check_evidence_cheap(state, ev, genesis_hash, height, params)
    check_proof_fails(task, ev, params.proof.profile)
    return ev


def check_evidence_room(items: Sequence[bytes], universal_proof_bytes: int) -> None:
    """InvalidBlock("invalid_evidence") unless a block's invalid-proof `items` fit its room:
    at most MAX_PROOF_EVIDENCE_PER_BLOCK items of MAX_PROOF_EVIDENCE_BYTES in all, or one item
    of at most MAX_LONE_EVIDENCE_BYTES that, with the block's `universal_proof_bytes`, stays
    within MAX_BLOCK_BULK_BYTES (a block is one gossip message)."""
    total = sum(len(raw) for raw in items)
    # Rule: at most K items per block.
    if len(items) > MAX_PROOF_EVIDENCE_PER_BLOCK:
        raise InvalidBlock("invalid_evidence", f"too_many: {len(items)} invalid-proof items")
    if total <= MAX_PROOF_EVIDENCE_BYTES:
        return
    # Rule: more than 1 MiB of items is one item, alone.
    if len(items) > 1:
        raise InvalidBlock(
            "invalid_evidence", f"not_alone: {len(items)} invalid-proof items of {total} bytes"
        )
    # Rule: a lone item is at most MAX_LONE_EVIDENCE_BYTES.
    if total > MAX_LONE_EVIDENCE_BYTES:
        raise InvalidBlock("invalid_evidence", f"too_many: invalid-proof evidence bytes {total}")
    # Rule: a lone large item and the Universal Proofs fit the block's bulk room.
    if total + universal_proof_bytes > MAX_BLOCK_BULK_BYTES:
        raise InvalidBlock(
            "invalid_evidence",
            f"no_room: an item of {total} bytes and {universal_proof_bytes} bytes of Universal"
            f" Proofs exceed {MAX_BLOCK_BULK_BYTES}",
        )


def slash_invalid_proofs(
    state: State,
    evidence: Sequence[bytes],
    genesis_hash: bytes,
    height: int,
    params: ProtocolParams,
    universal_proof_bytes: int = 0,
) -> list[bytes]:
    """Judge the invalid-proof evidence among a block's `evidence` (whose Universal Proofs have
    `universal_proof_bytes`) and slash each prover it convicts; return them.
    InvalidBlock("invalid_evidence") if any item is rejected or they do not fit the block."""
    items = [raw for raw in evidence if is_proof_evidence(raw)]
    check_evidence_room(items, universal_proof_bytes)
    convicted = []
    for index, raw in enumerate(items):
        try:
            ev = judge_proof_evidence(state, raw, genesis_hash, height, params)
        except RejectedEvidence as exc:
            raise InvalidBlock(
                "invalid_evidence", f"proof evidence #{index}: {exc}", index=index
            ) from exc
        task = state.task(ev.task_id)
        record = prover_stake(state, ev.prover)
        if task is None or record is None:  # judge_proof_evidence checked both
            raise InvalidBlock(
                "invalid_evidence", f"proof evidence #{index}: state changed", index=index
            )
        state.set_record(proof_slash_key(ev.prover, ev.task_id), b"\x01")
        slash_prover(state, record, task.submitted_height, params, height)
        convicted.append(ev.prover)
    return convicted


def slash_prover(
    state: State, record: ProverStake, task_height: int, params: ProtocolParams, height: int
) -> None:
    """Burn `invalid_proof_slash_ppm` of the prover's stake and unregister it; a prover that
    already left pays from the stake it took out at or after `task_height`, still locked."""
    ppm = params.invalid_proof_slash_ppm
    if record.status is ProverStatus.REGISTERED:
        cut = record.stake * ppm // PPM
        set_prover_stake(
            state, replace(record, stake=record.stake - cut, slashed=record.slashed + cut)
        )
        unregister_prover(state, record.address, params, height)
        return
    total = 0
    out = []
    for e in unbondings(state, record.address):
        cut = _unbonding_cut(e, task_height, params)
        total += cut
        out.append(replace(e, amount=e.amount - cut))
    if total:
        set_unbondings(state, record.address, out)
    set_prover_stake(state, replace(record, slashed=record.slashed + total))
