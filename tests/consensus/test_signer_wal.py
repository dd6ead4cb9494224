"""The last-signed guard and the WAL: refusal rules, durability, torn tails, driver replay."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from consensus import (
    WAL,
    ConsensusDriver,
    DoubleSignRefused,
    FileSignerStore,
    PrivValidator,
    Proposal,
    SendProposal,
    SendVote,
    ValidatorSet,
    Vote,
    VoteType,
    WALError,
    WalRecord,
    keccak256,
    sign,
)
from consensus.wal import frame, read_frames

CHAIN = 4242
A, B = b"\xaa" * 32, b"\xbb" * 32


def pv(sk: bytes, home: Path) -> PrivValidator:
    return PrivValidator(sk, FileSignerStore(home))


def close(signer: PrivValidator) -> None:
    assert isinstance(signer.store, FileSignerStore)
    signer.store.close()


def prevote(h: int, r: int, block: bytes, idx: int = 0) -> Vote:
    return Vote(CHAIN, h, r, VoteType.PREVOTE, block, idx)


def precommit(h: int, r: int, block: bytes, idx: int = 0) -> Vote:
    return Vote(CHAIN, h, r, VoteType.PRECOMMIT, block, idx)


def test_guard_refuses_conflicts_and_going_back(
    tmp_path: Path, keys: Callable[[int], tuple[bytes, ...]]
) -> None:
    sk = keys(1)[0]
    signer = pv(sk, tmp_path)
    s1 = signer.sign_vote(prevote(3, 1, A))
    assert s1.verify(signer.public_key)
    # Identical sign bytes at the same (h, r, step): the same signature, nothing new logged.
    assert signer.sign_vote(prevote(3, 1, A)).signature == s1.signature
    with pytest.raises(DoubleSignRefused):
        signer.sign_vote(prevote(3, 1, B))
    with pytest.raises(DoubleSignRefused):
        signer.sign_vote(prevote(3, 1, b""))
    with pytest.raises(DoubleSignRefused):
        signer.sign_vote(prevote(3, 0, A))  # earlier round
    with pytest.raises(DoubleSignRefused):
        signer.sign_proposal(Proposal(CHAIN, 3, 1, A, -1, 0), b"x")  # earlier step
    with pytest.raises(DoubleSignRefused):
        signer.sign_vote(prevote(2, 9, A))  # earlier height
    signer.sign_vote(precommit(3, 1, A), b"value A")
    signer.sign_proposal(Proposal(CHAIN, 3, 2, B, 1, 0), b"value B")
    assert [r.hrs for r in signer.wal_records(3)] == [(3, 1, 2), (3, 1, 3), (3, 2, 1)]


def test_guard_survives_restart(tmp_path: Path, keys: Callable[[int], tuple[bytes, ...]]) -> None:
    sk = keys(1)[0]
    signer = pv(sk, tmp_path)
    signer.sign_vote(precommit(4, 2, A), b"value A")
    restarted = pv(sk, tmp_path)
    assert restarted.last_signed is not None and restarted.last_signed.hrs == (4, 2, 3)
    with pytest.raises(DoubleSignRefused):
        restarted.sign_vote(precommit(4, 2, B))
    with pytest.raises(DoubleSignRefused):
        restarted.sign_vote(prevote(4, 2, A))
    recs = restarted.wal_records(4)
    assert [r.value for r in recs] == [b"value A"]


def test_guard_taken_from_wal_when_state_file_lags(
    tmp_path: Path, keys: Callable[[int], tuple[bytes, ...]]
) -> None:
    """The state file is written only when a prune drops records; the WAL's later tail wins."""
    sk = keys(1)[0]
    signer = pv(sk, tmp_path)
    signer.sign_vote(prevote(4, 0, A))
    signer.sign_vote(prevote(5, 0, A))
    assert not (tmp_path / "signer_state").exists()  # no per-message state file any more
    signer.prune_below(5)  # writes the state file (5, 0, 2) first
    signer.sign_vote(precommit(5, 0, A), b"value A")
    restarted = pv(sk, tmp_path)
    assert restarted.last_signed is not None and restarted.last_signed.hrs == (5, 0, 3)
    with pytest.raises(DoubleSignRefused):
        restarted.sign_vote(precommit(5, 0, B))


def test_torn_tail_is_cut_and_corruption_inside_is_an_error(
    tmp_path: Path, keys: Callable[[int], tuple[bytes, ...]]
) -> None:
    sk = keys(1)[0]
    signer = pv(sk, tmp_path)
    signer.sign_vote(prevote(1, 0, A))
    signer.sign_vote(precommit(1, 0, A), b"A")
    wal_path = tmp_path / "wal"
    good = wal_path.read_bytes()
    extra = frame(WalRecord(prevote(1, 1, B)).encode())
    for torn in (extra[:3], extra[:10], extra[:-1], extra[:-1] + b"\x00"):
        wal_path.write_bytes(good + torn)
        wal = WAL(wal_path)
        assert len(wal.records) == 2 and wal.repaired_bytes == len(torn)
        wal.close()
        assert wal_path.read_bytes() == good
    # A damaged record followed by more records is not a torn write: refuse to guess.
    damaged = bytearray(good)
    damaged[12] ^= 0xFF
    wal_path.write_bytes(bytes(damaged))
    with pytest.raises(WALError):
        WAL(wal_path)
    wal_path.write_bytes(good)
    (tmp_path / "signer_state").write_bytes(b"\x00\x00\x00\x05garbage")
    with pytest.raises(WALError):
        FileSignerStore(tmp_path).load()


def test_prune_keeps_current_height(tmp_path: Path, keys: Callable[[int], tuple[bytes, ...]]) -> None:
    sk = keys(1)[0]
    signer = pv(sk, tmp_path)
    for h in (1, 2, 3):
        signer.sign_vote(prevote(h, 0, A))
    signer.prune_below(3)
    restarted = pv(sk, tmp_path)
    assert [r.height for r in restarted.store.load()[1]] == [3]
    assert restarted.last_signed is not None and restarted.last_signed.hrs == (3, 0, 2)


def test_driver_replays_wal_after_restart(
    tmp_path: Path,
    keys: Callable[[int], tuple[bytes, ...]],
    make_vset: Callable[..., ValidatorSet],
) -> None:
    """Validator 0 proposes and locks in round 0, restarts, and resumes with the same lock,
    re-sending exactly the messages it signed before (same bytes), never new ones."""
    sks = keys(4)
    vset = make_vset(1, 1, 1, 1)
    counter = iter(range(100))

    def fresh_value(h: int) -> bytes:  # a different value at every call, as a mempool gives
        return b"block %d" % next(counter)

    def driver() -> ConsensusDriver:
        return ConsensusDriver(
            CHAIN, signer=pv(sks[0], tmp_path), get_value=fresh_value, is_valid=lambda v: True
        )

    d = driver()
    out = d.start_height(1, vset)
    sent = [o for o in out if isinstance(o, SendProposal | SendVote)]
    assert len(sent) == 2  # proposal and own prevote
    value = sent[0].bundle.value if isinstance(sent[0], SendProposal) else b""
    vid = keccak256(value)
    for i in (1, 2):
        v = prevote(1, 0, vid, i)
        d.on_vote(v.with_signature(sign(sks[i], v.sign_bytes())))
    before = d.own_messages()
    assert isinstance(before[-1], SendVote) and before[-1].vote.vote_type == VoteType.PRECOMMIT

    d2 = driver()  # restart: new process state, same files
    out2 = d2.start_height(1, vset)
    resent = [o for o in out2 if isinstance(o, SendProposal | SendVote)]
    assert resent == before  # byte-identical, nothing newly signed
    assert (d2.core.locked_value, d2.core.locked_round) == (value, 0)


@pytest.mark.parametrize("zeros", [8, 4096])
def test_zero_filled_tail_is_cut_and_signing_continues(
    tmp_path: Path, keys: Callable[[int], tuple[bytes, ...]], zeros: int
) -> None:
    """After a crash some filesystems show the grown size but zeros where the data never
    landed; crc32(b"") == 0, so zeros must not read as frames (nor stop the node)."""
    sk = keys(1)[0]
    signer = pv(sk, tmp_path)
    signer.sign_vote(prevote(1, 0, A))
    signer.sign_vote(precommit(1, 0, A), b"A")
    close(signer)
    wal_path = tmp_path / "wal"
    good = wal_path.read_bytes()
    wal_path.write_bytes(good + b"\x00" * zeros)
    restarted = pv(sk, tmp_path)
    assert restarted.last_signed is not None and restarted.last_signed.hrs == (1, 0, 3)
    assert [r.hrs for r in restarted.wal_records(1)] == [(1, 0, 2), (1, 0, 3)]
    assert wal_path.read_bytes() == good
    restarted.sign_vote(prevote(1, 1, B))
    close(restarted)
    again = pv(sk, tmp_path)
    assert [r.hrs for r in again.wal_records(1)] == [(1, 0, 2), (1, 0, 3), (1, 1, 2)]


def test_torn_frame_with_zeros_behind_is_a_torn_tail(
    tmp_path: Path, keys: Callable[[int], tuple[bytes, ...]]
) -> None:
    sk = keys(1)[0]
    signer = pv(sk, tmp_path)
    signer.sign_vote(prevote(1, 0, A))
    close(signer)
    wal_path = tmp_path / "wal"
    good = wal_path.read_bytes()
    extra = frame(WalRecord(prevote(1, 1, B)).encode())
    # The header landed, the payload did not; the filesystem shows zeros up to a block end.
    torn = extra[:8] + b"\x00" * (len(extra) - 8) + b"\x00" * 1000
    wal_path.write_bytes(good + torn)
    wal = WAL(wal_path)
    assert len(wal.records) == 1 and wal.repaired_bytes == len(torn)
    wal.close()
    assert wal_path.read_bytes() == good


def test_damage_in_the_middle_still_raises(
    tmp_path: Path, keys: Callable[[int], tuple[bytes, ...]]
) -> None:
    sk = keys(1)[0]
    signer = pv(sk, tmp_path)
    signer.sign_vote(prevote(1, 0, A))
    signer.sign_vote(precommit(1, 0, A), b"A")
    signer.sign_vote(prevote(1, 1, B))
    close(signer)
    wal_path = tmp_path / "wal"
    good = wal_path.read_bytes()
    first = len(frame(WalRecord(prevote(1, 0, A)).encode()))
    second_end = first + len(frame(WalRecord(precommit(1, 0, A), b"A").encode()))
    for damaged in (
        # a flipped payload byte in the second frame, a valid frame behind it
        good[: first + 12] + bytes([good[first + 12] ^ 0xFF]) + good[first + 13 :],
        # the second frame zeroed out, a valid frame behind it
        good[:first] + b"\x00" * (second_end - first) + good[second_end:],
        # a bad length in the second frame, valid data behind it
        good[:first] + b"\xff\xff\xff\xff" + good[first + 4 :],
        # zeros in the middle, then a valid frame
        good[:first] + b"\x00" * 64 + good[first:],
    ):
        wal_path.write_bytes(damaged + b"\x00" * 16)
        with pytest.raises(WALError):
            WAL(wal_path)


def test_checksum_covers_the_length() -> None:
    assert frame(b"") != b"\x00" * 8
    payload = WalRecord(prevote(1, 0, A)).encode()
    f = frame(payload)
    assert read_frames(f, "test") == ([payload], len(f))
    # The same checksum and payload under another length, followed by a valid frame.
    shorter = (len(payload) - 1).to_bytes(4, "big") + f[4:-1]
    with pytest.raises(WALError):
        read_frames(shorter + f, "test")


def test_deferred_signer_writes_nothing_until_sync_and_guards_meanwhile(
    tmp_path: Path, keys: Callable[[int], tuple[bytes, ...]]
) -> None:
    """The node's mode: signing only queues; `sync` makes the group durable with one fsync.
    A crash before `sync` loses the queued records, which were never sent."""
    sk = keys(1)[0]
    signer = PrivValidator(sk, FileSignerStore(tmp_path), deferred=True)
    signer.sign_proposal(Proposal(CHAIN, 2, 0, A, -1, 0), b"value A")
    signer.sign_vote(prevote(2, 0, A))
    assert signer.pending and (tmp_path / "wal").read_bytes() == b""
    # The in-memory guard already refuses a conflict at a queued (h, r, s).
    with pytest.raises(DoubleSignRefused):
        signer.sign_vote(prevote(2, 0, B))
    assert [r.hrs for r in signer.wal_records(2)] == [(2, 0, 1), (2, 0, 2)]
    crashed = pv(sk, tmp_path)  # a restart now sees neither record
    assert crashed.last_signed is None
    close(crashed)
    signer.sync()
    assert not signer.pending and signer.fsync_calls == 1
    restarted = pv(sk, tmp_path)
    assert restarted.last_signed is not None and restarted.last_signed.hrs == (2, 0, 2)
    assert [r.value for r in restarted.wal_records(2)] == [b"value A", b""]


def test_lazy_prune_waits_and_the_guard_survives_an_emptied_wal(
    tmp_path: Path, keys: Callable[[int], tuple[bytes, ...]]
) -> None:
    sk = keys(1)[0]
    signer = PrivValidator(sk, FileSignerStore(tmp_path), prune_min_records=4)
    for h in (1, 2, 3):
        signer.sign_vote(prevote(h, 0, A))
        signer.sign_vote(precommit(h, 0, A), b"A")
        signer.prune_below(h + 1, lazy=True)
    # The 4 records of heights 1-2 reached the threshold at the prune below 3; the 2 of
    # height 3 did not at the prune below 4.
    assert [r.height for r in signer.store.records()] == [3, 3]
    assert (tmp_path / "signer_state").exists()
    signer.sign_vote(prevote(4, 0, A))
    signer.prune_below(5)  # not lazy: dropped, the WAL is empty, the state file holds the guard
    close(signer)
    restarted = pv(sk, tmp_path)
    assert restarted.store.records() == []
    assert restarted.last_signed is not None and restarted.last_signed.hrs == (4, 0, 2)
    with pytest.raises(DoubleSignRefused):
        restarted.sign_vote(prevote(4, 0, B))
