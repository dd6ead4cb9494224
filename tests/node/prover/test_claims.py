"""When a task passes to the next prover in line: the heights of the order, held by fresh signed
claims of entitled provers only, passed on by silence, never held past the cap
(node.prover.claims). The clock is a parameter here; test_claims_network.py runs the same rules
over real hosts."""

from __future__ import annotations

from dataclasses import replace

import pytest

from genesis.keys import AccountKey
from node.prover.claims import ClaimBook, ClaimTiming, hold_cap_height, may_start, starts_for
from node.prover.messages import sign_claim

GENESIS = b"\x0a" * 32
KEYS = [AccountKey((0x31 + i).to_bytes(32, "big")) for i in range(4)]
ORDER = [k.address for k in KEYS]  # the task's order, as rank_provers would give it
TASK, OTHER_TASK = b"\x01" * 32, b"\x02" * 32
TIMING = ClaimTiming(interval_s=10, fresh_s=30, handover_s=10, max_age_s=60)
H, T, DEADLINE = 100, 10, 1000  # task block, prover timeout, task deadline (blocks)
WALL = 1_700_000_000_000  # the test's Unix clock (ms) at monotonic time 0
STARTS = starts_for(ORDER, H, T, DEADLINE - 2 * T)  # 100, 110, 120, 130


def _claim(book: ClaimBook, rank: int, at: float, tasks: tuple[bytes, ...] = (TASK,)) -> bool:
    claim = sign_claim(KEYS[rank], GENESIS, H, WALL + int(at * 1000), tasks)
    return book.add(claim, at, WALL + int(at * 1000))


def _may(book: ClaimBook, rank: int, head: int, now: float, since: float = -1000.0) -> bool:
    return may_start(
        order=ORDER,
        me=ORDER[rank],
        task_id=TASK,
        task_height=H,
        head=head,
        starts=STARTS,
        deadline_blocks=DEADLINE,
        book=book,
        now=now,
        listening_since=since,
    )


def test_without_claims_the_heights_decide() -> None:
    book = ClaimBook(TIMING)
    assert STARTS == [100, 110, 120, 130]
    assert _may(book, 0, head=100, now=0)  # the first in line at once
    assert not _may(book, 1, head=109, now=0)
    assert _may(book, 1, head=110, now=0)
    assert not _may(book, 3, head=129, now=0) and _may(book, 3, head=130, now=0)
    assert not may_start(
        order=ORDER[1:],
        me=ORDER[0],  # not in the task's set
        task_id=TASK,
        task_height=H,
        head=500,
        starts=STARTS[1:],
        deadline_blocks=DEADLINE,
        book=book,
        now=0,
        listening_since=-1000,
    )


def test_an_honest_slow_prover_keeps_its_task_while_it_sends_claims() -> None:
    book = ClaimBook(TIMING)
    # the first in line claims at its start and every 10 s, for 8 minutes (1 s blocks): far
    # past every other prover's start height and up to the cap (H + 500), nobody else starts
    for t in range(0, 500, 10):
        assert _claim(book, 0, t)
        head = H + t  # 1 s blocks
        for rank in (1, 2, 3):
            assert not _may(book, rank, head, now=t + 9.9)
    assert book.claimers(TASK) == [ORDER[0]]


def test_a_silent_prover_loses_the_task_once_its_last_claim_is_stale() -> None:
    book = ClaimBook(TIMING)
    _claim(book, 0, 0)
    _claim(book, 0, 10)  # then killed
    assert not _may(book, 1, head=150, now=40)
    assert _may(book, 1, head=150, now=40.1)  # fresh_s after the last claim
    # the next in line gets handover_s to claim it before the one after it starts ...
    assert not _may(book, 2, head=150, now=40.1) and not _may(book, 2, head=150, now=49.9)
    assert _may(book, 2, head=150, now=50.1)
    # ... and once it claims, it holds the task in turn
    _claim(book, 1, 41)
    assert not _may(book, 2, head=150, now=50.1) and not _may(book, 3, head=150, now=70)
    # a claim that no longer names the task releases it at once (done, failed, abandoned)
    _claim(book, 1, 45, (OTHER_TASK,))
    assert _may(book, 2, head=150, now=50.1)


def test_a_claim_by_a_prover_not_ahead_of_me_does_not_postpone_me() -> None:
    book = ClaimBook(TIMING)
    outsider = AccountKey((0x99).to_bytes(32, "big"))
    book.add(sign_claim(outsider, GENESIS, H, WALL + 1, (TASK,)), 1, WALL + 1)
    _claim(book, 2, 1)  # ranked after me (1), its start height (120) not reached
    assert _may(book, 0, head=H, now=2)
    assert _may(book, 1, head=115, now=2)
    # once its own turn has come, a prover ranked after me that is proving the task does hold
    # it: I let my turn pass (busy workers), it took the task, and I leave it the work
    _claim(book, 2, 5)
    assert not _may(book, 1, head=120, now=6) and not _may(book, 0, head=120, now=6)


def test_no_claim_holds_a_task_past_the_cap() -> None:
    book = ClaimBook(TIMING)
    cap = hold_cap_height(H, STARTS[1], DEADLINE)
    assert cap == H + DEADLINE // 2
    for t in range(0, 1000, 10):
        _claim(book, 0, t)
    assert not _may(book, 1, head=cap - 1, now=995)
    assert _may(book, 1, head=cap, now=995)
    # a rank whose own start is past the cap is not held at all
    late = starts_for(ORDER, H, 400, DEADLINE)
    assert hold_cap_height(H, late[2], DEADLINE) == late[2] == H + 800


def test_a_prover_listens_before_it_calls_the_provers_ahead_silent() -> None:
    """A prover that learned of the task late (block sync, a restart) passes every start height
    at once; it first listens for fresh_s, so an honest claimer's heartbeat reaches it."""
    book = ClaimBook(TIMING)
    assert not _may(book, 2, head=200, now=100, since=80)
    _claim(book, 0, 105)  # the heartbeat it hears meanwhile
    assert not _may(book, 2, head=200, now=110.1, since=80)
    # silent from 135 on; the prover between them gets its handover step first
    assert not _may(book, 2, head=200, now=140, since=80)
    assert _may(book, 2, head=200, now=145.1, since=80)
    # without a claim the grace is all it waits
    assert _may(ClaimBook(TIMING), 2, head=200, now=110, since=80)


def test_replayed_stale_and_future_claims_are_ignored() -> None:
    book = ClaimBook(TIMING)
    first = sign_claim(KEYS[0], GENESIS, H, WALL, (TASK,))
    assert book.add(first, 0, WALL)
    # the same claim again (a replay, or a gossip duplicate) does not refresh the hold
    assert not book.add(first, 25, WALL + 25_000)
    assert _may(book, 1, head=150, now=30.1)
    # nor does an older one
    older = sign_claim(KEYS[0], GENESIS, H, WALL - 5, (TASK,))
    assert not book.add(older, 26, WALL + 26_000)
    # a claim further than max_age_s off our clock is ignored, whichever the direction
    stale = sign_claim(KEYS[1], GENESIS, H, WALL, (TASK,))
    assert not book.add(stale, 61, WALL + 61_000)
    future = sign_claim(KEYS[1], GENESIS, H, WALL + 61_000, (TASK,))
    assert not book.add(future, 0, WALL)
    assert book.ignored == 4


def test_the_book_is_bounded() -> None:
    book = ClaimBook(replace(TIMING), max_claimers=3)
    keys = [AccountKey((0x50 + i).to_bytes(32, "big")) for i in range(5)]
    for i, key in enumerate(keys):
        assert book.add(sign_claim(key, GENESIS, H, WALL + i, (TASK,)), i, WALL + i)
    assert sorted(book.claimers(TASK)) == sorted(k.address for k in keys[2:])


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_the_first_in_line_that_never_claims_is_passed_over_by_height(rank: int) -> None:
    """A dead first prover that never claimed: the order of start heights, as before claims."""
    book = ClaimBook(TIMING)
    assert not _may(book, rank, head=STARTS[rank] - 1, now=1000)
    assert _may(book, rank, head=STARTS[rank], now=1000)
