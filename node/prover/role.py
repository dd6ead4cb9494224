"""Wiring the proving network into a node: the exchange always, the prover service with --prover.

proving = start_proving(chain, pool, p2p, nursery, settings, evidence)
proving.on_commit(block)        # after every committed block
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import trio

from execution.chain import Chain
from execution.staking import InvalidProofEvidence
from execution.types.block import Block
from genesis import GenesisError
from genesis.keys import AccountKey, read_key_file
from node.config import NodeConfig, NodeConfigError
from node.evidence_gossip import EvidenceGossip
from node.evidence_pool import EvidencePool
from node.logs import event
from node.proof_pool import ProofPool
from node.prover.exchange import ProofExchange
from node.prover.service import FAULTS, ProverService
from p2p import P2PService

logger = logging.getLogger("node.prover")


class ProverConfigError(NodeConfigError):
    """A prover setting that cannot work (a user's mistake: one line, exit 1)."""


# The prover account's key: it signs every proof (execution.staking.proof_envelope). The same
# file `ivcnet join --prover` and the devnet write.
PROVER_KEY_FILE = Path("config") / "prover_key.json"


@dataclass(frozen=True)
class ProverSettings:
    address: bytes | None = None  # None: this node does not prove
    workers: int = 0  # 0: one per core
    fault: str = ""  # test only: see node.prover.service
    key: AccountKey | None = None  # the prover account's key (its address is `address`)


def prover_settings(config: NodeConfig, chain: Chain, validator: bytes | None) -> ProverSettings:
    """The prover role a node's configuration asks for; ProverConfigError if it cannot work.

    A prover signs its proofs with the key of its prover account, `config/prover_key.json` in
    the home; its address is the prover address (rewards go there, stake is registered by it).
    --prover-address, if given, must be that address."""
    if not config.prover:
        return ProverSettings()
    if config.prover_fault and config.prover_fault not in FAULTS:
        raise ProverConfigError(f"unknown prover fault {config.prover_fault!r}")
    address = None
    if config.prover_address:
        try:
            address = bytes.fromhex(config.prover_address.removeprefix("0x"))
        except ValueError:
            address = b""
        if len(address) != 20:
            raise ProverConfigError(
                f"--prover-address {config.prover_address!r}: not a 20-byte hex address"
            )
    path = config.home / PROVER_KEY_FILE
    if not path.exists():
        raise ProverConfigError(
            f"--prover needs the prover account's key in {path} (it signs every proof; "
            "`ivcnet join --prover` writes one)"
        )
    try:
        key = read_key_file(path)
    except GenesisError as exc:
        raise ProverConfigError(str(exc)) from None
    if not isinstance(key, AccountKey):
        raise ProverConfigError(f"{path}: not a secp256k1 account key")
    if address is not None and address != key.address:
        raise ProverConfigError(
            f"--prover-address {config.prover_address} is not the address of the key in {path} "
            f"(0x{key.address.hex()})"
        )
    return ProverSettings(key.address, config.prover_workers, config.prover_fault, key)


@dataclass
class Proving:
    exchange: ProofExchange
    service: ProverService | None

    def on_commit(self, block: Block) -> None:
        self.exchange.on_commit()
        if self.service is not None:
            self.service.on_commit(block)


def start_proving(
    chain: Chain,
    pool: ProofPool,
    p2p: P2PService,
    nursery: trio.Nursery,
    settings: ProverSettings,
    evidence: EvidencePool | None = None,
) -> Proving:
    """The exchange (and the prover service if `settings` has a key); signed proofs that fail
    verification go to `evidence` (node.evidence_pool) for a block to slash their prover."""
    exchange = ProofExchange(chain, pool, p2p)
    if evidence is not None:
        pool_evidence = evidence
        # Every node relays and pools gossiped evidence; one that met the bad proof publishes.
        gossip = EvidenceGossip(chain, evidence, p2p)
        gossip.attach()

        def on_invalid_proof(ev: InvalidProofEvidence) -> None:
            if pool_evidence.add_proof(ev, chain.state(), chain.height):
                nursery.start_soon(gossip.publish, ev)
                event(
                    logger,
                    "proof_evidence",
                    logging.WARNING,
                    task=ev.task_id.hex(),
                    prover=ev.prover.hex(),
                    bytes=len(ev.proof),
                )

        exchange.on_invalid_proof = on_invalid_proof
    exchange.attach(nursery)
    service = None
    if settings.key is not None:
        service = ProverService(chain, exchange, settings.key, settings.workers, settings.fault)
        nursery.start_soon(service.run)
    return Proving(exchange, service)
