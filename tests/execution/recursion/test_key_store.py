"""The disk cache of recursion keys (execution/recursion/key_store.py): a key built once is
loaded by a fresh process state without recording or laying out the program again, and a
proof made with the built key verifies with the loaded one; a corrupted, truncated, misnamed
or inconsistent file is refused, removed and rebuilt, never used. On the Fibonacci 2^6 lift
program under the test-fast profile (the zkVM's lift is the same code at ~100x the size)."""

from __future__ import annotations

import hashlib
import io
import os
import random
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "stark"))

from stark_cases import FAST, statement

import execution.recursion.join as join_mod
import execution.recursion.lift as lift_mod
from execution.recursion import key_store
from execution.recursion.lift import LiftSpec, lift, lift_key
from execution.recursion.program import Program
from execution.recursion.prove import RecursionKey
from execution.recursion.prove import verify as recursion_verify
from storage.lru_cache import LruCache

TASK_ID = bytes(range(32))


def _spec() -> LiftSpec:
    return LiftSpec((statement("fibonacci", 6).airs[0],), (6,), FAST)


def _forget() -> None:
    for cache in (lift_mod._RECORDINGS, lift_mod._KEYS, join_mod._RECORDINGS, join_mod._KEYS):
        cache.clear()


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """This test's own process-wide caches and no store; monkeypatch puts back what the
    process had (other tests in this worker keep their keys and their store)."""
    for module in (lift_mod, join_mod):
        for name in ("_RECORDINGS", "_KEYS"):
            monkeypatch.setattr(module, name, LruCache(getattr(module, name).capacity))
    monkeypatch.setattr(key_store, "_STORE", None)


@pytest.fixture
def store(tmp_path: Path, fresh: None) -> key_store.KeyStore:
    configured = key_store.configure(tmp_path / "keys")
    assert configured is not None
    return configured


def _no_recording(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count recordings (a load from disk must not record)."""
    calls: list[int] = []
    real = lift_mod.lift_recording

    def counted(spec: LiftSpec):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(spec)

    monkeypatch.setattr(lift_mod, "lift_recording", counted)
    return calls


def _same(a: RecursionKey, b: RecursionKey) -> None:
    assert np.array_equal(a.control_id, b.control_id)
    assert np.array_equal(a.layout.program.encode(), b.layout.program.encode())
    assert a.layout.shape == b.layout.shape
    for t in a.layout.rows:
        assert np.array_equal(a.layout.rows[t], b.layout.rows[t])
    for x, y in zip(a.layout.preps, b.layout.preps, strict=True):
        assert np.array_equal(x, y)
    assert [air.digest for air in a.airs] == [air.digest for air in b.airs]


def test_a_stored_key_is_reused_and_verifies_the_proofs_of_the_built_one(
    store: key_store.KeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _spec()
    st = statement("fibonacci", 6)
    built = lift_key(spec)
    assert (store.misses, store.hits) == (1, 0)
    (path,) = store.directory.iterdir()
    assert path.name.startswith("lift-") and path.name.endswith(".key")
    lifted = lift(spec, TASK_ID, st.prove(FAST), st.publics)

    _forget()  # a restarted validator: nothing in memory
    recordings = _no_recording(monkeypatch)
    loaded = lift_key(spec)
    assert (store.hits, recordings) == (1, [])
    _same(built, loaded)
    rp = lifted.proof
    recursion_verify(rp.proof, loaded, loaded.control_id, rp.outputs, FAST)
    # The entry names the code too: another code version is another entry (a miss).
    monkeypatch.setattr(key_store, "code_version", lambda: b"another version")
    assert store.load("lift", spec.key()) is None


def _corruptions(raw: bytes, other: bytes) -> dict[str, bytes]:
    head = len(key_store.MAGIC) + 64
    flipped = bytearray(raw)
    flipped[head + (len(raw) - head) // 2] ^= 0x01
    bad_digest = bytearray(raw)
    bad_digest[len(key_store.MAGIC) + 40] ^= 0x80
    return {
        "payload byte": bytes(flipped),
        "digest byte": bytes(bad_digest),
        "truncated": raw[: len(raw) // 2],
        "empty": b"",
        "another entry's file": other,
    }


@pytest.mark.parametrize(
    "case", ["payload byte", "digest byte", "truncated", "empty", "another entry's file"]
)
def test_a_corrupt_file_is_refused_removed_and_rebuilt(
    store: key_store.KeyStore, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    spec = _spec()
    built = lift_key(spec)
    (path,) = store.directory.iterdir()
    raw = path.read_bytes()
    # A well-formed file of another entry, copied under this entry's name.
    other = key_store._encode(built, b"\x07" * 32)
    path.write_bytes(_corruptions(raw, other)[case])
    _forget()
    recordings = _no_recording(monkeypatch)
    rebuilt = lift_key(spec)
    assert store.refused == 1 and len(recordings) == 1  # not trusted: recorded again
    _same(built, rebuilt)
    assert path.read_bytes() == raw  # written again, whole
    _forget()
    lift_key(spec)
    assert store.hits == 1 and len(recordings) == 1


def test_a_consistent_file_whose_program_is_not_its_control_id_is_refused(
    store: key_store.KeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The digest only shows the file is whole: the program must also hash to the stored control
    id, and the rebuilt key must have it."""
    spec = _spec()
    built = lift_key(spec)
    (path,) = store.directory.iterdir()
    entry = bytes.fromhex(path.name.removesuffix(".key").rsplit("-", 1)[1])
    forged_cid = built.control_id.copy()
    forged_cid[0] = (int(forged_cid[0]) + 1) % 2013265921
    path.write_bytes(key_store._encode(replace(built, control_id=forged_cid), entry))
    _forget()
    recordings = _no_recording(monkeypatch)
    _same(built, lift_key(spec))
    assert store.refused == 1 and len(recordings) == 1


def test_a_lift_program_round_trips_and_canonical_bytes_are_unambiguous(fresh: None) -> None:
    program = lift_key(_spec()).layout.program
    assert Program.decode(program.encode()) == program  # notes are not compared (nor encoded)
    c = key_store.canonical
    parts = [1, b"1", "1", (1,), ((1,),), [b"", b""], (b"",), None, np.arange(3, dtype=np.uint32)]
    assert len({c(p) for p in parts}) == len(parts)
    assert c(np.arange(3, dtype=np.uint32)) != c(np.arange(3, dtype=np.uint64))
    with pytest.raises(TypeError):
        c(1.5)


def _payloads(raw: bytes) -> dict[str, bytes]:
    """Damaged payloads that a digest computed over them lets through to the decoder: what a
    disk or a copy that rewrote the file whole would leave (seeded)."""
    head = len(key_store.MAGIC) + 64
    payload = raw[head:]
    rng = random.Random(7)
    out = {}
    for i in range(4):
        out[f"truncated {i}"] = payload[: rng.randrange(1, len(payload))]
        flipped = bytearray(payload)
        flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
        out[f"bit-flipped {i}"] = bytes(flipped)
    with np.load(io.BytesIO(payload), allow_pickle=False) as z:
        arrays = {name: z[name] for name in z.files}
    for case, name, value in (
        ("no shape", "shape", np.zeros(0, dtype=np.int64)),  # an IndexError in the decoder
        ("2-D program", "program", arrays["program"].reshape(1, -1)),
    ):
        buf = io.BytesIO()
        np.savez(buf, **{**arrays, name: value})  # type: ignore[arg-type]
        out[case] = buf.getvalue()
    return out


def test_a_damaged_payload_under_a_valid_digest_is_refused_not_raised(
    store: key_store.KeyStore,
) -> None:
    spec = _spec()
    lift_key(spec)
    (path,) = store.directory.iterdir()
    raw = path.read_bytes()
    prefix = raw[: len(key_store.MAGIC) + 32]
    for n, (case, payload) in enumerate(_payloads(raw).items(), 1):
        path.write_bytes(prefix + hashlib.sha256(payload).digest() + payload)
        assert store.load("lift", spec.key()) is None, case
        assert store.refused == n and not path.exists(), case


def test_threads_asking_for_one_key_at_once_build_it_once(
    fresh: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    recordings = _no_recording(monkeypatch)
    counted = lift_mod.lift_recording

    def slow(spec: LiftSpec):  # type: ignore[no-untyped-def]
        time.sleep(0.3)  # the other threads ask while this one builds
        return counted(spec)

    monkeypatch.setattr(lift_mod, "lift_recording", slow)
    keys: list[RecursionKey] = []
    threads = [threading.Thread(target=lambda: keys.append(lift_key(_spec()))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
        assert not t.is_alive()
    assert len(recordings) == 1 and len(keys) == 3
    assert keys[0] is keys[1] is keys[2]
    assert key_store._BUILDING._locks == {}  # no lock left behind


def test_a_write_removes_the_key_files_of_other_code_versions(
    store: key_store.KeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _spec()
    with monkeypatch.context() as m:
        m.setattr(key_store, "code_version", lambda: b"an older version of the recorder")
        lift_key(spec)
    (old,) = store.directory.iterdir()
    legacy = store.directory / f"lift-{bytes(32).hex()}.key"  # named before version tags
    legacy.write_bytes(old.read_bytes())
    _forget()
    lift_key(spec)
    (path,) = store.directory.iterdir()
    assert path == store.path("lift", store.entry("lift", spec.key())) != old
