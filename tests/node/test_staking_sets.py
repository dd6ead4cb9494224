"""node.validator_sets over a real chain: sets change at the delay, priorities carry over, and a
reopened database gives the same sets."""

from __future__ import annotations

from pathlib import Path

from chain_helpers import CHAIN_ID, account_keys, make_genesis, validator_key

from consensus import Validator
from execution.chain import Chain
from execution.staking import build_bond_tx, validators_at
from genesis import ProtocolParams, ValidatorKey
from genesis.params import ETHER
from node.validator_sets import ValidatorSets

ALICE = account_keys(1)[0]
NEW_VAL = ValidatorKey((11).to_bytes(32, "big"))
PARAMS = ProtocolParams(validator_set_delay=2)


def _commit(chain: Chain, *raws: bytes) -> None:
    proposer = validators_at(chain.state(), chain.height + 1)[0].address
    chain.commit_block(chain.build_block(list(raws), proposer, chain.head.header.time_ms + 1000))


def test_sets_follow_the_state_at_the_delay_and_survive_a_reopen(tmp_path: Path) -> None:
    genesis = make_genesis(params=PARAMS)
    chain = Chain.open(tmp_path / "chain", genesis)
    try:
        sets = ValidatorSets(chain)
        genesis_key = validator_key()[0].public_key
        assert sets.at(1).public_keys == [genesis_key]
        _commit(chain)
        _commit(chain)
        bond = build_bond_tx(
            ALICE.private_key,
            chain_id=CHAIN_ID,
            nonce=0,
            amount=30 * ETHER,
            validator_secret_key=NEW_VAL.secret_key,
        )
        _commit(chain, bond.raw)  # height 3: the set of 5 has the newcomer
        assert sets.at(4).public_keys == [genesis_key]
        five = sets.at(5)
        assert five.public_keys == [genesis_key, NEW_VAL.public_key]
        assert [v.power for v in five.validators] == [10, 30]
        assert sets.addresses_at(5) == {validator_key()[0].address, NEW_VAL.address}
        # The same walk by hand: the set of 4 advanced with the new membership.
        expected = sets.at(4).with_members(list(five.validators)).next_height()
        assert five == expected
        # By hand: [0] -> newcomer at -(40 + 5) = -45 -> centred [23, -22] -> increment
        # [33, 8] picks the genesis validator -> [-7, 8].
        assert five.priorities == (-7, 8)
        for _ in range(4):
            _commit(chain)
        walked = [sets.at(h) for h in range(1, chain.height + 2)]
    finally:
        chain.close()
    reopened = Chain.open(tmp_path / "chain", genesis)
    try:
        fresh = ValidatorSets(reopened)
        assert [fresh.at(h) for h in range(1, reopened.height + 2)] == walked
    finally:
        reopened.close()


def test_a_height_beyond_the_known_schedule_is_not_cached(tmp_path: Path) -> None:
    chain = Chain.open(tmp_path / "chain", make_genesis(params=PARAMS))
    try:
        sets = ValidatorSets(chain)
        guess = sets.at(10)  # only heights up to head + delay are final
        assert guess.validators == (Validator(validator_key()[0].public_key, 10),)
        assert 10 not in sets._cache
    finally:
        chain.close()


def test_the_latest_checkpoint_survives_a_restart(tmp_path: Path) -> None:
    from node.validator_sets import CHECKPOINT, CHECKPOINT_FILE

    chain = Chain.open(tmp_path / "chain", make_genesis(params=PARAMS))
    data = tmp_path / "data"
    try:
        bond = build_bond_tx(
            ALICE.private_key,
            chain_id=CHAIN_ID,
            nonce=0,
            amount=30 * ETHER,
            validator_secret_key=NEW_VAL.secret_key,
        )
        _commit(chain, bond.raw)  # two validators from height 3: priorities that move
        while chain.height < CHECKPOINT + 4:
            _commit(chain)
        top = chain.height
        walked = ValidatorSets(chain).at(top)  # from height 1, no file
        sets = ValidatorSets(chain, data)
        assert sets.at(top) == walked
        path = data / CHECKPOINT_FILE
        assert path.exists()
        # A restart starts from the checkpoint, with the same answers.
        fresh = ValidatorSets(chain, data)
        assert CHECKPOINT in fresh._cache and fresh._cache[CHECKPOINT] == sets._cache[CHECKPOINT]
        assert fresh.at(top) == walked
        assert [fresh.at(h) for h in range(CHECKPOINT - 2, top + 1)] == [
            ValidatorSets(chain).at(h) for h in range(CHECKPOINT - 2, top + 1)
        ]
        # A damaged file, or one of another chain (block hash), is ignored: walked from 1.
        raw = path.read_bytes()
        for bad in (raw[:-1] + bytes([raw[-1] ^ 1]), raw[:16] + bytes(32) + raw[48:], raw[:20]):
            path.write_bytes(bad)
            ignored = ValidatorSets(chain, data)
            assert CHECKPOINT not in ignored._cache
            assert ignored.at(top) == walked
    finally:
        chain.close()
