"""STARK proof system over BabyBear: field, extension, NTT, Poseidon2, Merkle trees, challenger.

Note: the re-exported function ``ntt`` shadows the submodule of the same name as a package
attribute, so ``import execution.stark.ntt as m`` yields the function; import names from the
module instead (``from execution.stark.ntt import coset_lde``).
"""

from __future__ import annotations

from execution.stark.challenger import Challenger, ChallengerError
from execution.stark.extension import (
    DEGREE,
    W,
    ext_add,
    ext_batch_inv,
    ext_from_base,
    ext_inv,
    ext_mul,
    ext_mul_base,
    ext_neg,
    ext_one,
    ext_pow,
    ext_square,
    ext_sub,
    ext_zero,
)
from execution.stark.field import (
    GENERATOR,
    TWO_ADICITY,
    P,
    add,
    batch_inv,
    from_int,
    inv,
    is_canonical,
    mul,
    neg,
    pow,
    sub,
    two_adic_generator,
)
from execution.stark.merkle import MerkleError, MerkleTree, hash_leaves, verify_batch
from execution.stark.ntt import bit_reverse_indices, coset_lde, intt, lde_domain, ntt
from execution.stark.poseidon2 import (
    COMPRESS_DOMAIN_NODE,
    DIGEST_SIZE,
    RATE,
    SPONGE_DOMAIN_CHALLENGER,
    SPONGE_DOMAIN_HASH,
    SPONGE_DOMAIN_LEAF,
    WIDTH,
    compress,
    compress_pairs,
    duplex,
    hash_elements,
    hash_rows,
    permute,
)

__all__ = [
    "COMPRESS_DOMAIN_NODE",
    "DEGREE",
    "DIGEST_SIZE",
    "GENERATOR",
    "RATE",
    "SPONGE_DOMAIN_CHALLENGER",
    "SPONGE_DOMAIN_HASH",
    "SPONGE_DOMAIN_LEAF",
    "TWO_ADICITY",
    "WIDTH",
    "Challenger",
    "ChallengerError",
    "MerkleError",
    "MerkleTree",
    "P",
    "W",
    "add",
    "batch_inv",
    "bit_reverse_indices",
    "compress",
    "compress_pairs",
    "coset_lde",
    "duplex",
    "ext_add",
    "ext_batch_inv",
    "ext_from_base",
    "ext_inv",
    "ext_mul",
    "ext_mul_base",
    "ext_neg",
    "ext_one",
    "ext_pow",
    "ext_square",
    "ext_sub",
    "ext_zero",
    "from_int",
    "hash_elements",
    "hash_leaves",
    "hash_rows",
    "intt",
    "inv",
    "is_canonical",
    "lde_domain",
    "mul",
    "neg",
    "ntt",
    "permute",
    "pow",
    "sub",
    "two_adic_generator",
    "verify_batch",
]

# --- Upper layer: parameters, AIR framework, FRI, prover, verifier, proof format -------------
# (owned by the STARK upper-layer engineer; the primitives above are owned separately)
from execution.stark.air import (
    Air,
    AirBuilder,
    AirError,
    CompiledAir,
    Expr,
    compile_air,
)
from execution.stark.errors import InvalidProof, ProofFormatError, ProvingError
from execution.stark.fri import FriProof
from execution.stark.params import (
    CONJECTURED,
    PROFILES,
    PROVEN,
    FriParams,
    ParamsError,
    profile,
    security_bits,
)
from execution.stark.proof import Proof, TableProof
from execution.stark.prover import prove
from execution.stark.verifier import verify

__all__ += [
    "CONJECTURED",
    "PROFILES",
    "PROVEN",
    "Air",
    "AirBuilder",
    "AirError",
    "CompiledAir",
    "Expr",
    "FriParams",
    "FriProof",
    "InvalidProof",
    "ParamsError",
    "Proof",
    "ProofFormatError",
    "ProvingError",
    "TableProof",
    "compile_air",
    "profile",
    "prove",
    "security_bits",
    "verify",
]
