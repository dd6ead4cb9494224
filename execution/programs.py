"""What the chain needs to know of a program it is asked to deploy: its image id.

The image id (the Poseidon2 digest of the program ROM, entry point and memory layout) is the
zkVM's to compute; this is the one place the state transition asks for it, so that a deploy is
refused for a named reason when the ELF is not a program the zkVM would run.
"""

from __future__ import annotations

from execution.types.errors import InvalidTransaction
from execution.zkvm import ZkvmError, image_id, load_elf


def image_id_bytes_of_elf(elf: bytes) -> bytes:
    """32-byte image id (8 little-endian uint32 field elements) of an ELF file.

    Raises InvalidTransaction("malformed_data") when the bytes are not a loadable program.
    """
    try:
        program = load_elf(elf)
    except ZkvmError as exc:
        raise InvalidTransaction("malformed_data", f"not a loadable program: {exc}") from exc
    return image_id(program).astype("<u4").tobytes()
