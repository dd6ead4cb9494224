"""Evidence waiting for a block, and what recent blocks already hold.

Two kinds (docs/staking.md, Slashing):

- duplicate-vote evidence (consensus.evidence), gossiped on the evidence topic: accepted only if
  it verifies against the validator set of its height and is at most `max_age` blocks old
  (genesis `evidence_max_age_blocks`); each piece goes into at most
  one block (blocks of the last `max_age` heights are scanned at start, committed blocks are
  added as they come);
- invalid-proof evidence (execution.staking.proof_evidence), made by this node's own proof
  exchange when a correctly signed proof fails verification against its task, or received on
  the proof-evidence topic (node.evidence_gossip, which verifies the proof first). It is judged
  with the state's rules when it arrives and again, without the proof verification, against the head state before each
  block; at most MAX_PROOF_EVIDENCE_PER_BLOCK items and MAX_PROOF_EVIDENCE_BYTES go into one
  block, one per (prover, task), or one item above MAX_PROOF_EVIDENCE_BYTES alone when it
  and the block's Universal Proofs fit MAX_BLOCK_BULK_BYTES (else it waits for a block with
  fewer proof bytes).

The re-check before a block reads the state only: the item's size and envelope were checked
when it was pooled and cannot change, and its encoding is kept, so a proposal costs a few trie
reads per item. Re-checking the envelope each time cost 20 ms for a 573 KB proof and 58 ms for
a 2 MiB one (keccak of the proof dominating; encoding 0.7 and 4.6 ms more), measured at load
average 18 on 2 cores: with 64 items held, seconds of event loop before every proposal.
"""

from __future__ import annotations

from collections.abc import Callable

from consensus import ConsensusError, DuplicateVoteEvidence, ValidatorSet, keccak256
from execution.chain import Chain
from execution.staking import (
    InvalidProofEvidence,
    RejectedEvidence,
    check_evidence_cheap,
    check_evidence_envelope,
    check_evidence_state,
    is_proof_evidence,
)
from execution.staking.proof_evidence import (
    MAX_BLOCK_BULK_BYTES,
    MAX_PROOF_EVIDENCE_BYTES,
    MAX_PROOF_EVIDENCE_PER_BLOCK,
)
from execution.state import State
from execution.types.block import Block
from execution.types.errors import InvalidBlock
from genesis.params import ProtocolParams
from p2p import NotRelayed
from storage.lru_cache import LruCache

MAX_EVIDENCE_PER_BLOCK = 16
MAX_PENDING_PROOF_EVIDENCE = 64
MAX_PENDING_PROOF_EVIDENCE_BYTES = 32 << 20
MAX_REFUSED_PROOF_EVIDENCE = 4096


class EvidencePool:
    def __init__(
        self,
        chain_id: int,
        validator_set: Callable[[int], ValidatorSet],
        params: ProtocolParams,
        genesis_hash: bytes,
        head_state: Callable[[], State] | None = None,
    ) -> None:
        self.chain_id = chain_id
        self.params = params  # the invalid-proof rules read it as the state transition does
        self.max_age = params.evidence_max_age_blocks
        self.genesis_hash = genesis_hash  # which proof envelopes bind
        self._validator_set = validator_set
        self._head_state = head_state
        self._pending: dict[bytes, DuplicateVoteEvidence] = {}
        # (prover, task id) -> (evidence, its encoding), oldest first; the envelope is checked
        self._proofs: dict[tuple[bytes, bytes], tuple[InvalidProofEvidence, bytes]] = {}
        self._proof_bytes = 0
        # Gossiped "evidence" whose proof verifies (_refusal_key): never verified again. Keyed
        # by the proof too: refusing a (prover, task) for good would let anyone who gossips
        # the prover's valid proof first block the evidence of a bad one it also signed.
        self._refused: LruCache[bytes, bool] = LruCache(MAX_REFUSED_PROOF_EVIDENCE)
        self.committed: set[bytes] = set()

    def scan(self, chain: Chain) -> None:
        for h in range(max(1, chain.height - self.max_age), chain.height + 1):
            block = chain.block_at(h)
            if block is not None:
                self.mark_committed(block)

    def mark_committed(self, block: Block) -> None:
        self.committed.update(keccak256(raw) for raw in block.evidence)

    def for_block(self, height: int, universal_proof_bytes: int = 0) -> tuple[bytes, ...]:
        """The evidence of a block at `height` whose Universal Proofs have that many bytes."""
        out = []
        for h, ev in list(self._pending.items()):
            if h in self.committed or ev.height < height - self.max_age:
                del self._pending[h]
            elif ev.height < height:
                out.append(ev.encode())
        proofs = self._proofs_for_block(height, MAX_BLOCK_BULK_BYTES - universal_proof_bytes)
        return (*out[:MAX_EVIDENCE_PER_BLOCK], *proofs)

    def _proofs_for_block(self, height: int, room: int) -> list[bytes]:
        """Oldest first: small items up to the count and byte bounds, or, if the oldest
        that fits is large, that one alone (execution.staking.check_evidence_room)."""
        if not self._proofs or self._head_state is None:
            return []
        state = self._head_state()
        out: list[bytes] = []
        size = 0
        for key, (ev, raw) in list(self._proofs.items()):
            try:
                check_evidence_state(state, ev, height, self.params)
            except RejectedEvidence:
                self._forget(key)  # slashed meanwhile (duplicate), or too old
                continue
            if len(raw) > MAX_PROOF_EVIDENCE_BYTES:
                if not out and len(raw) <= room:
                    return [raw]
                continue  # waits for a block with room for it alone
            if (
                len(out) < MAX_PROOF_EVIDENCE_PER_BLOCK
                and size + len(raw) <= MAX_PROOF_EVIDENCE_BYTES
            ):
                out.append(raw)
                size += len(raw)
        return out

    def _forget(self, key: tuple[bytes, bytes]) -> None:
        item = self._proofs.pop(key, None)
        if item is not None:
            self._proof_bytes -= len(item[1])

    def drop_proof_evidence(
        self, evidence: tuple[bytes, ...], error: InvalidBlock
    ) -> tuple[bytes, ...]:
        """A block holding `evidence` did not build (`error`, reason invalid_evidence): a rule
        this pool does not re-run before a block (the proof verification) disagreed, and a
        proposer must not stall on it. Forget the invalid-proof item the error names (its
        `index` counts invalid-proof items only), or all of them when it names none, and
        return `evidence` without what was forgotten."""
        items = [raw for raw in evidence if is_proof_evidence(raw)]
        index = error.index
        drop = [items[index]] if index is not None and 0 <= index < len(items) else items
        for raw in drop:
            try:
                ev = InvalidProofEvidence.decode(raw)
            except RejectedEvidence:
                continue
            self._forget((ev.prover, ev.task_id))
        gone = set(drop)
        return tuple(raw for raw in evidence if raw not in gone)

    def add(self, ev: DuplicateVoteEvidence, head_height: int) -> bool:
        """Pool verified, recent, new evidence; False if it is none of those."""
        h = ev.hash()
        if h in self._pending or h in self.committed:
            return False
        if ev.height > head_height + 1 or ev.height < head_height - self.max_age:
            return False
        try:
            ev.verify(self._validator_set(ev.height), self.chain_id)
        except ConsensusError:
            return False
        self._pending[h] = ev
        return True

    def add_proof(self, ev: InvalidProofEvidence, state: State, head_height: int) -> bool:
        """Pool invalid-proof evidence whose proof the caller found invalid for its task (the
        exchange's verification); False if the state's other rules reject it or it is known."""
        key = (ev.prover, ev.task_id)
        if key in self._proofs:
            return False
        try:
            check_evidence_cheap(state, ev, self.genesis_hash, head_height + 1, self.params)
        except RejectedEvidence:
            return False
        raw = ev.encode()
        self._proofs[key] = (ev, raw)
        self._proof_bytes += len(raw)
        while (
            len(self._proofs) > MAX_PENDING_PROOF_EVIDENCE
            or self._proof_bytes > MAX_PENDING_PROOF_EVIDENCE_BYTES
        ):
            self._forget(next(iter(self._proofs)))
        return True

    def admits(self, raw: bytes, state: State, head_height: int) -> bool:
        """Whether gossiped bytes may be relayed (node.evidence_gossip): invalid-proof evidence
        that every rule but the proof verification accepts and that was not refused here, or
        an item this pool holds already. False (the sender is scored down) only for what is
        wrong in the bytes themselves; NotRelayed for rules that read this node's state, which
        an honest relay behind or ahead of us may see otherwise."""
        if not is_proof_evidence(raw):
            return False
        try:
            ev = InvalidProofEvidence.decode(raw)
            check_evidence_envelope(ev, self.genesis_hash)
        except RejectedEvidence:
            return False
        key = (ev.prover, ev.task_id)
        if key in self._proofs:
            return True
        if _refusal_key(ev) in self._refused:
            raise NotRelayed("refused here: its proof verified")
        try:
            check_evidence_state(state, ev, head_height + 1, self.params)
        except RejectedEvidence as exc:
            raise NotRelayed(str(exc)) from exc
        return True

    def knows(self, ev: InvalidProofEvidence) -> bool:
        """True if this (prover, task) is pooled or this proof was refused: nothing to verify."""
        return (ev.prover, ev.task_id) in self._proofs or _refusal_key(ev) in self._refused

    def refuse(self, ev: InvalidProofEvidence) -> None:
        """Its proof verified: this item is junk, now and when it comes again."""
        self._refused.put(_refusal_key(ev), True)

    @property
    def proof_evidence(self) -> list[InvalidProofEvidence]:
        return [ev for ev, _ in self._proofs.values()]


def _refusal_key(ev: InvalidProofEvidence) -> bytes:
    return keccak256(ev.prover + ev.task_id + keccak256(ev.proof))
