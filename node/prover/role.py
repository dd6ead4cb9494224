"""Wiring the proving network into a node: the exchange always, the prover service with --prover.

proving = start_proving(chain, pool, p2p, nursery, settings, validator_address)
proving.on_commit(block)        # after every committed block
"""

from __future__ import annotations

from dataclasses import dataclass

import trio

from execution.chain import Chain
from execution.types.block import Block
from node.config import NodeConfig, NodeConfigError
from node.proof_pool import ProofPool
from node.prover.exchange import ProofExchange
from node.prover.service import FAULTS, ProverService
from p2p import P2PService


class ProverConfigError(NodeConfigError):
    """A prover setting that cannot work (a user's mistake: one line, exit 1)."""


@dataclass(frozen=True)
class ProverSettings:
    address: bytes | None = None  # None: this node does not prove
    workers: int = 0  # 0: one per core
    fault: str = ""  # test only: see node.prover.service


def prover_settings(config: NodeConfig, chain: Chain, validator: bytes | None) -> ProverSettings:
    """The prover role a node's configuration asks for; ProverConfigError if it cannot work.
    Without --prover-address, a validator proves for its genesis reward address."""
    if not config.prover:
        return ProverSettings()
    if config.prover_fault and config.prover_fault not in FAULTS:
        raise ProverConfigError(f"unknown prover fault {config.prover_fault!r}")
    if config.prover_address:
        try:
            address = bytes.fromhex(config.prover_address.removeprefix("0x"))
        except ValueError:
            address = b""
        if len(address) != 20:
            raise ProverConfigError(
                f"--prover-address {config.prover_address!r}: not a 20-byte hex address"
            )
        return ProverSettings(address, config.prover_workers, config.prover_fault)
    for v in chain.genesis.validators:
        if validator is not None and v.address == validator and v.reward_address:
            return ProverSettings(v.reward_address, config.prover_workers, config.prover_fault)
    raise ProverConfigError("--prover needs --prover-address (the account its rewards go to)")


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
) -> Proving:
    exchange = ProofExchange(chain, pool, p2p)
    exchange.attach(nursery)
    service = None
    if settings.address is not None:
        service = ProverService(chain, exchange, settings.address, settings.workers, settings.fault)
        nursery.start_soon(service.run)
    return Proving(exchange, service)
