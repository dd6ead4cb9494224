"""The compact gossip form of a proposal: Universal Proof leaves by reference (cf. BIP 152).

A proposal travels as one gossip message, and every node of a mesh forwards it to its mesh
peers: a block with a 950 KB Universal Proof was ~40 MB of Noise + yamux traffic through Python
per proposal on a 7-node devnet, re-sent by the re-gossip of a stalled round, and the
validators stalled at the first height that carried one (docs/proving.md, "Proposal
transport"). Yet every validator already pools each task proof before a proposal names it
(node/prover/exchange.py). So on the wire each v0 leaf's task proof is replaced by the hash of
its bytes, and a receiver rebuilds the exact block from its proof pool:

    CompactProposal = TAG || rlp([proposal, value_key, header, [tx, ...], last_commit,
                                  [evidence, ...], [entry, ...]])
    entry           = [0, universal_proof_bytes]                       (inline: v1, or any
                                                                        body not re-encodable)
                    | [1, rlp([block_height, block_hash, [[task_id, prover, proof_hash], ...]])]

`proposal` is the signed `consensus.Proposal` encoding, `value_key` = keccak256 of the full
block encoding (the consensus value), `header` the block header's RLP, `proof_hash` =
keccak256 of the leaf's task proof. TAG is not an RLP list prefix (those start at 0xc0), so
full `ProposalBundle`s (RLP lists) still travel on the same topic and stay accepted.

What a receiver may rely on, checked in this order: the message decodes (canonical RLP, field
sizes, bounded counts) and its header hashes to the block hash the proposal signs, with one
entry per Universal Proof the header names (`decode_compact`, pure: a gossip validator runs it
before relaying); the rebuilt value hashes to `value_key` (`rebuild`), so it is byte for byte
the proposer's value; a value fetched instead (node/proposal_transport.py) must hash to
`value_key` and its header to the signed block hash (`check_fetched`). Whether the block is
valid is consensus's question, as for a full bundle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import rlp
from rlp.sedes import Binary, CountableList, List, big_endian_int, binary

from consensus import ConsensusError, Proposal, ProposalBundle
from execution.types.block import Block, Header
from execution.types.errors import DecodingError
from execution.types.hashing import keccak256
from execution.types.rlp_fast import check_canonical
from execution.types.rlp_fast import encode as rlp_encode
from execution.universal import InvalidUniversalProof, ProofLeaf, UniversalProof
from execution.universal.version import is_v1
from p2p.topics import DEFAULT_TOPICS, TOPIC_PROPOSALS

TAG = b"\x01ivc-cp1"  # first byte 0x01: never the first byte of an RLP list (>= 0xc0)
ENTRY_INLINE = 0
ENTRY_REFS = 1
# Bounds far above anything honest (a block holds a few Universal Proofs of a few leaves),
# low enough that a hostile message costs little to refuse.
MAX_ENTRIES = 64
MAX_REFS = 4096
MAX_TXS = 100_000
MAX_EVIDENCE = 1024
# A delivered proposal, however it travelled, is one a full bundle could have been: its encoding
# within the proposal topic's limit (p2p.topics). Without this a value too big for gossip would be
# accepted by nodes that rebuild it and refused by those that must fetch it.
MAX_BUNDLE_BYTES = DEFAULT_TOPICS[TOPIC_PROPOSALS].max_size

_ID = Binary.fixed_length(32)
_ADDR = Binary.fixed_length(20)
_REF = List([_ID, _ADDR, _ID], strict=True)
_REFS_BODY = List([big_endian_int, _ID, CountableList(_REF)], strict=True)
_ENTRY = List([big_endian_int, binary], strict=True)
_SEDES = List(
    [
        binary,
        _ID,
        binary,
        CountableList(binary),
        binary,
        CountableList(binary),
        CountableList(_ENTRY),
    ],
    strict=True,
)


class MalformedCompact(Exception):
    """Bytes that are not a well-formed compact proposal (the forwarder's fault: every node
    checks the same before relaying)."""


class InconsistentCompact(Exception):
    """A well-formed compact proposal whose parts do not fit together once the proofs are at
    hand (the author's fault: a relay cannot tell without the proofs)."""


@dataclass(frozen=True)
class LeafRef:
    task_id: bytes
    prover: bytes
    proof_hash: bytes


@dataclass(frozen=True)
class RefsEntry:
    """A v0 Universal Proof whose leaves' proofs are named by hash."""

    block_height: int
    block_hash: bytes
    leaves: tuple[LeafRef, ...]


Entry = bytes | RefsEntry  # bytes: a Universal Proof carried inline


@dataclass(frozen=True)
class CompactProposal:
    proposal: Proposal
    value_key: bytes
    header: Header
    transactions: tuple[bytes, ...]
    last_commit: bytes
    evidence: tuple[bytes, ...]
    entries: tuple[Entry, ...]

    @property
    def height(self) -> int:
        return self.proposal.height

    def refs(self) -> list[LeafRef]:
        return [ref for e in self.entries if isinstance(e, RefsEntry) for ref in e.leaves]


# Where a receiver looks up a task proof: its pool (node.proof_pool.ProofPool.get).
LeafLookup = Callable[[bytes], ProofLeaf | None]


def is_compact(data: bytes) -> bool:
    return data[: len(TAG)] == TAG


def _entry_of(raw: bytes) -> tuple[Entry, int]:
    """The wire entry of one Universal Proof body and how many leaves it names by hash."""
    if is_v1(raw):
        return raw, 0  # a recursion root: no peer holds it before the proposal
    try:
        up = UniversalProof.decode(raw)
    except InvalidUniversalProof:
        return raw, 0  # the proposer's own junk (tests): consensus judges it as sent
    if up.encode() != raw:
        return raw, 0
    refs = tuple(
        LeafRef(leaf.task_id, leaf.prover, keccak256(leaf.task_proof)) for leaf in up.leaves
    )
    return RefsEntry(up.block_height, up.block_hash, refs), len(refs)


def encode_compact(bundle: ProposalBundle, block: Block) -> bytes | None:
    """The compact form of `bundle` (whose value encodes `block`), or None when it would name
    no leaf by hash (then the full bundle is sent, as before)."""
    entries: list[Entry] = []
    named = 0
    for raw in block.universal_proofs:
        entry, n = _entry_of(raw)
        entries.append(entry)
        named += n
    if not named:
        return None
    wire_entries: list[list[object]] = []
    for entry in entries:
        if isinstance(entry, RefsEntry):
            body = rlp_encode(
                [
                    entry.block_height,
                    entry.block_hash,
                    [[r.task_id, r.prover, r.proof_hash] for r in entry.leaves],
                ]
            )
            wire_entries.append([ENTRY_REFS, body])
        else:
            wire_entries.append([ENTRY_INLINE, entry])
    return TAG + rlp_encode(
        [
            bundle.proposal.encode(),
            keccak256(bundle.value),
            block.header.encode(),
            list(block.transactions),
            block.last_commit,
            list(block.evidence),
            wire_entries,  # type: ignore[list-item]
        ]
    )


def _rlp(data: bytes, sedes: List, what: str) -> list[object]:
    try:
        check_canonical(data, what)
        return list(rlp.decode(data, sedes=sedes, strict=True))
    except (DecodingError, rlp.DecodingError, rlp.DeserializationError) as exc:
        raise MalformedCompact(f"{what}: {exc}") from exc


def decode_compact(data: bytes) -> CompactProposal:
    """Decode and check what needs no state (see the module doc); raises MalformedCompact."""
    if not is_compact(data):
        raise MalformedCompact("not a compact proposal")
    fields = _rlp(data[len(TAG) :], _SEDES, "compact proposal")
    raw_proposal, value_key, raw_header, txs, last_commit, evidence, wire_entries = fields
    try:
        proposal = Proposal.decode(raw_proposal)  # type: ignore[arg-type]
    except ConsensusError as exc:
        raise MalformedCompact(str(exc)) from exc
    try:
        header = Header.decode(raw_header)  # type: ignore[arg-type]
    except DecodingError as exc:
        raise MalformedCompact(f"compact proposal: {exc}") from exc
    # Rule: the header is the block the proposal signs (its hash is the consensus value id).
    if header.hash != proposal.block_hash:
        raise MalformedCompact("the header is not the block the proposal names")
    # The sedes fix the shapes: lists of byte strings, integers where declared.
    txs, evidence = cast(list[bytes], txs), cast(list[bytes], evidence)
    wire_entries = cast(list[tuple[int, bytes]], wire_entries)
    if len(txs) > MAX_TXS or len(evidence) > MAX_EVIDENCE:
        raise MalformedCompact("too many transactions or evidence items")
    # Rule: one entry per Universal Proof the header names, in the header's order.
    if len(wire_entries) != len(header.universal_proofs) or len(wire_entries) > MAX_ENTRIES:
        raise MalformedCompact(
            f"{len(wire_entries)} entries for {len(header.universal_proofs)} Universal Proofs"
        )
    entries: list[Entry] = []
    total = 0
    named: set[bytes] = set()
    for kind, body in wire_entries:
        if kind == ENTRY_INLINE:
            entries.append(body)
            continue
        if kind != ENTRY_REFS:
            raise MalformedCompact(f"unknown entry kind {kind}")
        height, block_hash, raw_refs = _rlp(body, _REFS_BODY, "leaf references")
        refs = cast(list[tuple[bytes, bytes, bytes]], raw_refs)
        total += len(refs)
        if not refs or total > MAX_REFS:
            raise MalformedCompact(f"a compact proposal names 1 to {MAX_REFS} leaves per entry")
        # Rule: a task is named once (a block answers a task at most once); repeats would make
        # a receiver read and copy one pooled proof thousands of times.
        for task_id, _, _ in refs:
            if task_id in named:
                raise MalformedCompact("a task is named twice")
            named.add(task_id)
        entries.append(
            RefsEntry(cast(int, height), cast(bytes, block_hash), tuple(LeafRef(*r) for r in refs))
        )
    return CompactProposal(
        proposal,
        cast(bytes, value_key),
        header,
        tuple(txs),
        cast(bytes, last_commit),
        tuple(evidence),
        tuple(entries),
    )


@dataclass(frozen=True)
class Rebuilt:
    """The proposal as consensus takes it, and the decoded block (so nobody decodes it again)."""

    bundle: ProposalBundle
    block: Block
    key: bytes  # keccak256 of the value (checked equal to the announced value key)


def missing_refs(compact: CompactProposal, lookup: LeafLookup) -> list[LeafRef]:
    """The leaves whose proofs `lookup` lacks, or holds other bytes of (another prover's, or a
    forged hash): those must come from a peer."""
    return [ref for ref in compact.refs() if _held(ref, lookup) is None]


def _held(ref: LeafRef, lookup: LeafLookup) -> ProofLeaf | None:
    leaf = lookup(ref.task_id)
    if leaf is None or leaf.prover != ref.prover or keccak256(leaf.task_proof) != ref.proof_hash:
        return None
    return leaf


def rebuild(compact: CompactProposal, lookup: LeafLookup) -> Rebuilt | None:
    """The byte-identical proposal value from `lookup`'s proofs; None when one is missing.
    Raises InconsistentCompact when every named proof is at hand and the value still does not
    hash to `value_key` (the author's references do not describe its value)."""
    bodies: list[bytes] = []
    size = sum(len(e) for e in compact.entries if not isinstance(e, RefsEntry))
    for entry in compact.entries:
        if not isinstance(entry, RefsEntry):
            bodies.append(entry)
            continue
        leaves = []
        for ref in entry.leaves:
            leaf = _held(ref, lookup)
            if leaf is None:
                return None
            size += len(leaf.task_proof)
            if size > MAX_BUNDLE_BYTES:
                raise InconsistentCompact("the named proofs exceed what a proposal may carry")
            leaves.append(leaf)
        bodies.append(UniversalProof(entry.block_height, entry.block_hash, tuple(leaves)).encode())
    block = Block(
        compact.header, compact.transactions, compact.last_commit, compact.evidence, tuple(bodies)
    )
    value = block.encode()
    # Rule: the rebuilt value is byte for byte the one the proposer hashed.
    if keccak256(value) != compact.value_key:
        raise InconsistentCompact("the rebuilt block does not hash to the announced value key")
    return _bounded(Rebuilt(ProposalBundle(compact.proposal, value), block, compact.value_key))


def _bounded(rebuilt: Rebuilt) -> Rebuilt:
    # Rule: within what the proposal topic carries as a full bundle (MAX_BUNDLE_BYTES).
    if len(rebuilt.bundle.encode()) > MAX_BUNDLE_BYTES:
        raise InconsistentCompact("the proposal is larger than a full bundle may be")
    return rebuilt


def check_fetched(compact: CompactProposal, value: bytes) -> Rebuilt:
    """A value a peer served for `compact`: it must hash to `value_key` (else the server lied:
    InvalidServed) and decode to the block the proposal signs (else the author announced the key
    of another value: InconsistentCompact)."""
    if keccak256(value) != compact.value_key:
        raise InvalidServed("the served value does not hash to the requested key")
    try:
        block = Block.decode(value)
    except DecodingError as exc:
        raise InconsistentCompact(f"the announced value does not decode: {exc}") from exc
    if block.hash != compact.proposal.block_hash:
        raise InconsistentCompact("the announced value is not the block the proposal signs")
    return _bounded(Rebuilt(ProposalBundle(compact.proposal, value), block, compact.value_key))


class InvalidServed(Exception):
    """A peer answered a value request with bytes other than the value asked for."""
