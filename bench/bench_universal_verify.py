"""Universal Proof v0 verification time per block, for 1, 10 and 50 tasks.

Prints one JSON line per task count. Real chain (LevelDB in a temporary folder), real task
proofs of the hand-built sample program (execution/zkproof/samples.py, fib loop, 5
iterations): one proof per task, since a task proof binds its task id (61 proofs are made
first, about 3 s each; they are not timed). Two figures per count:
- `verify_s`: UniversalProof.decode + verify (every leaf's STARK, the tree root), what the
  proof itself costs;
- `check_block_s`: Chain.check_block of a block bringing that Universal Proof, as a
  validator checks a proposal (decode, verify, state updates, roots).
v0 verifies every leaf, so both grow linearly with the number of tasks: the figure the
recursion (Universal Proof v1) must flatten. Process CPU time is reported beside wall time
(less sensitive to other load on a shared machine).
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from execution.chain import Chain, relax_gc
from execution.programs import image_id_bytes_of_elf
from execution.types import TaskRequest, Transaction
from execution.types.transaction import TASK_SYSTEM_ADDRESS
from execution.universal import ProofLeaf, UniversalProof
from execution.zkproof import prove
from execution.zkproof.samples import fib_loop_program, program_elf
from genesis import (
    GWEI,
    Genesis,
    GenesisAccount,
    GenesisValidator,
    ProtocolParams,
    ValidatorKey,
)
from genesis.keys import AccountKey
from genesis.params import ETHER

COUNTS = (1, 10, 50)
CHAIN_ID = 31337
PROVER = b"\x77" * 20


def emit(name: str, value: float, unit: str, **params: object) -> None:
    print(
        json.dumps(
            {"bench": "universal_verify", "name": name, "value": round(value, 4), "unit": unit}
            | params
        ),
        flush=True,
    )


def main() -> None:
    relax_gc()
    validator = ValidatorKey((7).to_bytes(32, "big"))
    user = AccountKey((1).to_bytes(32, "big"))
    genesis = Genesis(
        chain_id="bench",
        eth_chain_id=CHAIN_ID,
        genesis_time_ms=1_000,
        validators=(
            GenesisValidator(
                "v0", validator.public_key, validator.proof_of_possession(), 10, user.address
            ),
        ),
        accounts=(GenesisAccount(user.address, 10**6 * ETHER),),
        params=ProtocolParams(),
    )
    elf = program_elf(fib_loop_program(5))
    profile = genesis.params.proof.profile
    prove_times: list[float] = []

    def task_proof(task_id: bytes) -> bytes:
        started = time.perf_counter()
        proof = prove(elf, b"", profile, prover=PROVER, task_id=task_id).to_bytes()
        prove_times.append(time.perf_counter() - started)
        return proof

    request = TaskRequest(image_id_bytes_of_elf(elf), b"", 10_000, 1).encode()

    def tx(nonce: int, to: bytes, data: bytes, gas: int) -> bytes:
        return (
            Transaction(CHAIN_ID, nonce, GWEI, 3 * GWEI, gas, to, 0, data)
            .sign(user.private_key)
            .raw
        )

    with tempfile.TemporaryDirectory() as tmp:
        chain = Chain.open(Path(tmp) / "chain", genesis)
        try:

            def commit(txs: list[bytes]) -> bytes:
                block = chain.build_block(txs, validator.address, chain.head.header.time_ms + 1000)
                chain.commit_block(block)
                return block.hash

            commit([tx(0, b"", elf, 50_000_000)])
            nonce = 1
            for count in COUNTS:
                txs = [tx(nonce + i, TASK_SYSTEM_ADDRESS, request, 100_000) for i in range(count)]
                nonce += count
                task_hash = commit(txs)
                receipts = chain.receipts(task_hash) or []
                leaves = tuple(
                    ProofLeaf(r.created, PROVER, task_proof(r.created)) for r in receipts
                )
                up = UniversalProof(chain.height, task_hash, leaves).encode()
                state = chain.state()
                tasks = [state.task(leaf.task_id) for leaf in leaves]

                w0, c0 = time.perf_counter(), time.process_time()
                UniversalProof.decode(up).verify(tasks, profile)
                verify_wall, verify_cpu = time.perf_counter() - w0, time.process_time() - c0

                block = chain.build_block(
                    [], validator.address, chain.head.header.time_ms + 1000, universal_proofs=(up,)
                )
                chain._executed = None  # as a validator that did not build it
                w0, c0 = time.perf_counter(), time.process_time()
                chain.check_block(block)
                check_wall, check_cpu = time.perf_counter() - w0, time.process_time() - c0
                chain.commit_block(block)
                emit(
                    "universal_proof_verify_s",
                    verify_wall,
                    "s",
                    tasks=count,
                    verify_cpu_s=round(verify_cpu, 4),
                    per_task_ms=round(1000 * verify_wall / count, 1),
                    check_block_s=round(check_wall, 4),
                    check_block_cpu_s=round(check_cpu, 4),
                    universal_proof_bytes=len(up),
                    task_proof_bytes=len(leaves[0].task_proof),
                    program="fib_loop(5) sample",
                    profile=profile,
                    prove_s_mean=round(sum(prove_times) / len(prove_times), 2),
                )
        finally:
            chain.close()


if __name__ == "__main__":
    main()
