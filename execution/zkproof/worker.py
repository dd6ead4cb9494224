"""Proving off the event loop: `prove_async` runs the prover in a child process.

A child process (not a thread) because proving is minutes of CPU-bound numpy/numba work that
holds the GIL in places, and because cancelling it must actually stop the work: when the
calling trio scope is cancelled, trio.run_process kills the child.

Request on the child's stdin: b"IVCZKR03", u8 profile length, profile name, the prover's
20-byte address, the 32-byte task id, u32 program length, program bytes (task.program_to_bytes), then the input
bytes (the rest). The child writes the
task-proof bytes to stdout and exits 0, or writes one line "error: <message>" to stderr and
exits 2 for an expected failure (ZkProofError, an execution fault).
"""

from __future__ import annotations

import struct
import sys

from execution.zkproof.errors import ZkProofError
from execution.zkproof.statement import NO_PROVER, NO_TASK, PROVER_BYTES, TASK_ID_BYTES
from execution.zkproof.task import TaskProof, program_from_bytes, program_to_bytes
from execution.zkvm.program import Program

__all__ = ["REQUEST_MAGIC", "prove_async"]

REQUEST_MAGIC = b"IVCZKR03"
_EXPECTED_FAILURE = 2


def _request(
    program: Program, input_bytes: bytes, profile: str, prover: bytes, task_id: bytes = NO_TASK
) -> bytes:
    name = profile.encode()
    prog = program_to_bytes(program)
    if len(prover) != PROVER_BYTES:
        raise ZkProofError(f"the prover address must be {PROVER_BYTES} bytes")
    if len(task_id) != TASK_ID_BYTES:
        raise ZkProofError(f"the task id must be {TASK_ID_BYTES} bytes")
    return (
        REQUEST_MAGIC
        + struct.pack("<B", len(name))
        + name
        + prover
        + task_id
        + struct.pack("<I", len(prog))
        + prog
        + input_bytes
    )


def _parse(data: bytes) -> tuple[Program, bytes, str, bytes, bytes]:
    if data[:8] != REQUEST_MAGIC or len(data) < 9:
        raise ZkProofError("bad prove request")
    n = data[8]
    pos = 9 + n + PROVER_BYTES + TASK_ID_BYTES
    if len(data) < pos + 4:
        raise ZkProofError("bad prove request")
    profile = data[9 : 9 + n].decode(errors="replace")
    prover = data[9 + n : 9 + n + PROVER_BYTES]
    task_id = data[9 + n + PROVER_BYTES : pos]
    (plen,) = struct.unpack("<I", data[pos : pos + 4])
    pos += 4
    program = program_from_bytes(data[pos : pos + plen])
    return program, data[pos + plen :], profile, prover, task_id


async def prove_async(
    program: Program,
    input_bytes: bytes = b"",
    profile: str = "conjectured",
    *,
    prover: bytes = NO_PROVER,
    task_id: bytes = NO_TASK,
) -> TaskProof:
    """Prove in a child process for `prover` and `task_id` (both bound into the proof);
    cancelling the caller's scope kills the child."""
    import trio

    result = await trio.run_process(
        [sys.executable, "-m", "execution.zkproof.worker"],
        stdin=_request(program, input_bytes, profile, prover, task_id),
        capture_stdout=True,
        capture_stderr=True,
        check=False,
    )
    if result.returncode == _EXPECTED_FAILURE:
        lines = result.stderr.decode(errors="replace").strip().splitlines()
        message = lines[-1].removeprefix("error: ") if lines else "prover failed"
        raise ZkProofError(message)
    if result.returncode != 0:
        raise ZkProofError(f"prover process died (status {result.returncode})")
    return TaskProof.from_bytes(result.stdout)


def main() -> int:
    from execution.zkproof.prover import prove
    from execution.zkvm.errors import ZkvmError

    try:
        program, input_bytes, profile, prover, task_id = _parse(sys.stdin.buffer.read())
        proof = prove(program, input_bytes, profile, prover=prover, task_id=task_id)
    except (ZkProofError, ZkvmError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return _EXPECTED_FAILURE
    sys.stdout.buffer.write(proof.to_bytes())
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
