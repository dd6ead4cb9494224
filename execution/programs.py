"""What the chain needs to know of a program it is asked to deploy: its image id.

The image id (the Poseidon2 digest of the program ROM, entry point and memory layout) is the
zkVM's to compute; this is the one place the state transition asks for it, so that a deploy is
refused for a named reason when the ELF is not a program the zkVM would run.
"""

from __future__ import annotations

from execution.types.errors import InvalidTransaction


def image_id_of_elf(elf: bytes) -> bytes:
    """32-byte image id of an ELF file; InvalidTransaction("malformed_data") if it is not one."""
    from execution.zkvm import ZkvmError, image_id_of_elf as zkvm_image_id

    try:
        return zkvm_image_id(elf)
    except ZkvmError as exc:
        raise InvalidTransaction("malformed_data", f"not a loadable program: {exc}") from exc
