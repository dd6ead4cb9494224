"""A test-only Byzantine validator: for every (height, round) it hears, it signs two prevotes
for two different made-up blocks and gossips both.

    python equivocator.py HOME VALIDATOR_KEY_FILE CHAIN_ID INDEX SECONDS PEER...

It runs its own libp2p host (identity in HOME) connected to the honest validators and stops
after SECONDS. Honest nodes must turn its votes into duplicate-vote evidence in a block.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import trio

from consensus import Vote, VoteType, sign
from genesis import ValidatorKey, read_key_file
from p2p import TOPIC_VOTES, P2PConfig, open_p2p_service


async def run(
    home: Path, key: ValidatorKey, chain_id: int, index: int, seconds: float, peers: list[str]
) -> None:
    config = P2PConfig(home=home, persistent_peers=tuple(peers))
    async with open_p2p_service(config) as p2p:
        votes = p2p.subscribe(TOPIC_VOTES)
        assert votes is not None
        done: set[tuple[int, int]] = set()
        with trio.move_on_after(seconds):
            async for msg in votes:
                try:
                    seen = Vote.decode(msg.data)
                except Exception:
                    continue
                hr = (seen.height, seen.round)
                if hr in done:
                    continue
                done.add(hr)
                for tag in (b"a", b"b"):
                    fake = hashlib.sha256(tag + seen.height.to_bytes(8, "big")).digest()
                    vote = Vote(chain_id, seen.height, seen.round, VoteType.PREVOTE, fake, index)
                    signed = vote.with_signature(sign(key.secret_key, vote.sign_bytes()))
                    await p2p.publish(TOPIC_VOTES, signed.encode())


def main() -> None:
    home, key_file, chain_id, index, seconds, *peers = sys.argv[1:]
    key = read_key_file(Path(key_file))
    assert isinstance(key, ValidatorKey)
    trio.run(run, Path(home), key, int(chain_id), int(index), float(seconds), peers)


if __name__ == "__main__":
    main()
