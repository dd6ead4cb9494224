"""py-arkworks-bls12381 as a candidate BLS backend, against milagro_bls_binding.

Not a project dependency: run it in a venv that has both packages, e.g.
    python -m venv /tmp/arkvenv
    /tmp/arkvenv/bin/pip install py-arkworks-bls12381==0.5.0 milagro-bls-binding==1.9.1
    /tmp/arkvenv/bin/python bench/bench_consensus_arkworks.py
The ciphersuite is built from arkworks' primitives exactly as consensus/bls.py would need it
(POP DST, hash_to_curve, one pairing check) and checked against Ethereum's known answer
first. One JSON line per figure; backends alternate so that load affects both alike.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import milagro_bls_binding as milagro
from py_arkworks_bls12381 import GT, G1Point, G2Point, Scalar

DST = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"
KAT_SK = bytes.fromhex("263dbd792f5b1be47ed85f8938c0f29586af0d3ac7b977f21c278fe1462040e3")
KAT_SIG = bytes.fromhex(
    "b6ed936746e01f8ecf281f020953fbf1f01debd5657c4a383940b020b26507f6"
    "076334f91e2366c96e9ab279fb5158090352ea1c5b0c9274504f4f0e7053af24"
    "802e51e4568d164fe986834f41e55c8e850ce1f98458c0cfc9ab380b55285a55"
)
MSG = b"\x00" * 32
G1 = G1Point()


def ark_sign(sk: Scalar, msg: bytes) -> bytes:
    return bytes((G2Point.hash_to_curve(msg, DST) * sk).to_compressed_bytes())


def ark_verify(pk: bytes, msg: bytes, sig: bytes) -> bool:
    p = G1Point.from_compressed_bytes(pk)  # checks the subgroup
    s = G2Point.from_compressed_bytes(sig)
    return bool(GT.pairing_check([p, -G1], [G2Point.hash_to_curve(msg, DST), s]))


def ark_fast_aggregate_verify(pks: list[bytes], msg: bytes, sig: bytes) -> bool:
    agg = G1Point.identity()
    for pk in pks:
        agg = agg + G1Point.from_compressed_bytes(pk)
    s = G2Point.from_compressed_bytes(sig)
    return bool(GT.pairing_check([agg, -G1], [G2Point.hash_to_curve(msg, DST), s]))


def per_call(fn: Callable[[], object], iters: int) -> float:
    fn()
    t = time.perf_counter()
    for _ in range(iters):
        fn()
    return (time.perf_counter() - t) / iters


def main() -> None:
    sk = Scalar(int.from_bytes(KAT_SK, "big"))
    pk = bytes((G1 * sk).to_compressed_bytes())
    if ark_sign(sk, MSG) != KAT_SIG or not ark_verify(pk, MSG, KAT_SIG):
        raise SystemExit("arkworks construction does not match the known answer")
    sks = [(i + 1).to_bytes(32, "big") for i in range(16)]
    pks = [bytes(milagro.SkToPk(k)) for k in sks]
    agg = bytes(milagro.Aggregate([milagro.Sign(k, MSG) for k in sks]))
    if not ark_fast_aggregate_verify(pks, MSG, agg):
        raise SystemExit("arkworks FastAggregateVerify disagrees with milagro")
    cases: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
        "sign": (lambda: ark_sign(sk, MSG), lambda: milagro.Sign(KAT_SK, MSG)),
        "verify": (lambda: ark_verify(pk, MSG, KAT_SIG), lambda: milagro.Verify(pk, MSG, KAT_SIG)),
        "fast_aggregate_verify_16": (
            lambda: ark_fast_aggregate_verify(pks, MSG, agg),
            lambda: milagro.FastAggregateVerify(pks, MSG, agg),
        ),
    }
    for name, (ark, mil) in cases.items():
        a = min(per_call(ark, 20), per_call(ark, 20))
        m = min(per_call(mil, 20), per_call(mil, 20))
        print(json.dumps({"name": f"bls_{name}", "value": round(a * 1e3, 3), "unit": "ms",
                          "params": {"library": "py-arkworks-bls12381",
                                     "baseline_milagro_ms": round(m * 1e3, 3),
                                     "speedup_vs_milagro": round(m / a, 2)}}), flush=True)


if __name__ == "__main__":
    main()
