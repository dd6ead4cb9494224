"""`ivcnet join`: set up a node home for a network that already runs (docs/joining.md).

From someone else's genesis file and one peer address it writes a self-contained home:
    HOME/genesis.json                 a copy of the network's genesis, checked first
    HOME/config/p2p_identity.key      this node's libp2p identity (its peer id)
    HOME/config/node.json             the preset's settings, the peer as a persistent peer
    HOME/config/validator_key.json    --validator: a new BLS key (in the set only once stake
                                      is bonded to it)
    HOME/config/prover_key.json       --prover: the prover account's key, which signs its proofs
                                      (a new account; with --stake, the --from-key account's)
then prints how to start the node and the exact staking transaction (to, value, data) that any
wallet can send; with --stake it signs and sends it itself through --rpc. The sender of a bond
owns the stake and receives the validator's tips, and the bond carries the new key's signature
of that owner (so nobody else can send it): the bond is printed only when the owner is known
(--owner, or the --from-key account); a prover registration registers its sender, so with
--stake the --from-key account is the prover. Nothing is written unless every input
checked out (the --rpc node too: same chain id), and an existing home is never touched.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from genesis import (
    ETHER,
    AccountKey,
    Genesis,
    GenesisError,
    ValidatorKey,
    read_key_file,
    to_checksum_address,
)
from genesis.home import GENESIS_FILE, VALIDATOR_KEY_FILE
from genesis.keys import write_key_file
from node.cli.errors import CliError

PROVER_KEY_FILE = Path("config") / "prover_key.json"  # same place as node.devnet's provers
RECEIPT_TIMEOUT_S = 60.0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "join",
        help="set up a node home to join a running network",
        description="Create --home for a network that already runs: copy and check its genesis "
        "file, create this node's keys, write config/node.json with --peer as a persistent "
        "peer, and print the command that starts the node and the staking transaction that "
        "makes it a validator or prover (sent at once with --stake). See docs/joining.md.",
    )
    p.add_argument("--genesis", required=True, type=Path, help="the network's genesis.json")
    p.add_argument(
        "--peer",
        action="append",
        required=True,
        metavar="MULTIADDR",
        help="a node of the network, /ip4/HOST/tcp/PORT/p2p/PEER_ID (repeatable)",
    )
    p.add_argument("--home", required=True, type=Path, help="the new node's home (must not exist)")
    p.add_argument("--validator", action="store_true", help="create a BLS validator key")
    p.add_argument("--prover", action="store_true", help="also prove tasks")
    p.add_argument(
        "--preset",
        choices=("testnet", "local"),
        default="testnet",
        help="settings: testnet (p2p on 0.0.0.0, longer timeouts; default) or local (defaults)",
    )
    p.add_argument("--p2p-port", type=int, default=None, help="p2p port (default 26656)")
    p.add_argument("--rpc-port", type=int, default=None, help="JSON-RPC port (default 8545)")
    p.add_argument(
        "--external-address",
        default=None,
        metavar="HOST[:PORT]",
        help="address announced to peers (default: the interface addresses)",
    )
    p.add_argument("--moniker", default=None, help="a name for this node")
    p.add_argument(
        "--stake",
        default=None,
        metavar="AMOUNT",
        help="IVC (18 decimals) to bond to the new validator key, or with --prover alone to "
        "register the --from-key account as a prover; signed and sent through --rpc",
    )
    p.add_argument(
        "--prover-stake",
        default=None,
        metavar="AMOUNT",
        help="with --validator --prover --stake: IVC to register the --from-key account as a "
        "prover too",
    )
    p.add_argument(
        "--from-key",
        default=None,
        metavar="KEYFILE|HEX",
        help="funded account that pays (and owns) the stake: a key file or a 0x private key",
    )
    p.add_argument(
        "--owner",
        default=None,
        metavar="ADDRESS",
        help="with --validator: the account that will send the bond and own the stake (the "
        "bond is signed for it); default the --from-key account",
    )
    p.add_argument("--rpc", default=None, metavar="URL", help="JSON-RPC URL of a network node")
    p.set_defaults(func=run)


# ---- checking the inputs -----------------------------------------------------------------
def parse_amount(text: str, what: str) -> int:
    """A positive decimal amount of IVC -> wei."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise CliError(f"{what}: {text!r} is not a number of IVC") from None
    wei = value * ETHER
    if not value.is_finite() or wei <= 0 or wei != wei.to_integral_value():
        raise CliError(f"{what}: {text!r} must be positive with at most 18 decimals")
    return int(wei)


def read_payer_key(text: str) -> AccountKey:
    """--from-key: a key file (ivcnet keys new) or a 0x-hex private key."""
    if text.startswith("0x") and not Path(text).exists():
        try:
            return AccountKey.from_json({"type": "secp256k1", "private_key": text}, "--from-key")
        except GenesisError as exc:
            raise CliError(str(exc)) from None
    try:
        key = read_key_file(Path(text))
    except GenesisError as exc:
        raise CliError(f"--from-key: {exc}") from None
    if not isinstance(key, AccountKey):
        raise CliError(f"--from-key {text}: not an account (secp256k1) key")
    return key


def parse_owner(text: str) -> bytes:
    """--owner: a 0x-hex account address (20 bytes)."""
    try:
        owner = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        owner = b""
    if len(owner) != 20 or not text.startswith("0x"):
        raise CliError(f"--owner {text!r}: not a 0x-hex account address (20 bytes)")
    return owner


def check_home_is_new(home: Path) -> None:
    if home.exists() and (not home.is_dir() or any(home.iterdir())):
        raise CliError(
            f"{home} already exists and is not empty; refusing to touch an existing node home "
            f"(to restart a joined node: ivcnet node start --home {home})"
        )


def load_network_genesis(path: Path) -> tuple[Genesis, bytes]:
    """The genesis file, fully checked (proofs of possession too), and its exact bytes."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CliError(f"--genesis {path}: no such file") from None
    except OSError as exc:
        raise CliError(f"--genesis {path}: cannot read it ({exc.strerror})") from None
    try:
        genesis = Genesis.load(path)
    except GenesisError as exc:
        raise CliError(f"--genesis {path} is not a valid genesis file: {exc}") from None
    return genesis, data


@dataclass(frozen=True)
class JoinPlan:
    """Everything `join` will write and send, checked before anything is."""

    home: Path
    genesis: Genesis
    genesis_bytes: bytes
    peers: tuple[str, ...]
    settings: dict[str, Any]
    validator: bool
    prover: bool
    payer: AccountKey | None = None  # --from-key
    bond: int = 0  # wei bonded to the validator key
    prover_stake: int = 0  # wei registered as prover stake
    owner: bytes | None = None  # who sends the bond (--owner, or the --from-key account)


def plan(args: argparse.Namespace) -> JoinPlan:
    # Imported here: p2p pulls in libp2p (half a second) that `ivcnet --help` need not pay.
    from node.config import NodeConfigError, preset_settings
    from p2p import P2PConfigError, parse_peer_addr
    from p2p.announce import parse_external_address

    check_home_is_new(args.home)
    for name in ("p2p_port", "rpc_port"):
        port = getattr(args, name)
        if port is not None and not 1 <= port <= 65535:
            raise CliError(f"--{name.replace('_', '-')} must be between 1 and 65535")
    bond = prover_stake = 0
    payer = None
    if args.stake is not None:
        if args.from_key is None or args.rpc is None:
            raise CliError("--stake needs --from-key (the paying account) and --rpc (a node's URL)")
        if not (args.validator or args.prover):
            raise CliError("--stake needs --validator or --prover (what the stake is for)")
        amount = parse_amount(args.stake, "--stake")
        bond, prover_stake = (amount, 0) if args.validator else (0, amount)
        payer = read_payer_key(args.from_key)
    owner = None
    if args.from_key is not None:
        payer = payer or read_payer_key(args.from_key)
        owner = payer.address
    if args.owner is not None:
        if not args.validator:
            raise CliError("--owner goes with --validator (it names who sends the bond)")
        named = parse_owner(args.owner)
        if owner is not None and named != owner:
            raise CliError("--owner differs from the --from-key account, which sends the bond")
        owner = named
    if args.prover_stake is not None:
        if not (args.validator and args.prover and args.stake is not None):
            raise CliError("--prover-stake goes with --validator --prover --stake")
        prover_stake = parse_amount(args.prover_stake, "--prover-stake")
    try:
        for addr in args.peer:
            parse_peer_addr(addr)
        if args.external_address is not None:
            parse_external_address(args.external_address)
        settings = preset_settings(args.preset)
    except (P2PConfigError, NodeConfigError) as exc:
        raise CliError(str(exc)) from None
    genesis, data = load_network_genesis(args.genesis)
    settings["peers"] = list(args.peer)
    for key, value in (
        ("p2p_port", args.p2p_port),
        ("rpc_port", args.rpc_port),
        ("external_address", args.external_address),
        ("moniker", args.moniker),
    ):
        if value is not None:
            settings[key] = value
    if args.prover:
        settings["prover"] = True
    return JoinPlan(
        args.home,
        genesis,
        data,
        tuple(args.peer),
        settings,
        args.validator,
        args.prover,
        payer,
        bond,
        prover_stake,
        owner,
    )


# ---- writing the home --------------------------------------------------------------------
@dataclass(frozen=True)
class JoinedHome:
    home: Path
    peer_id: str
    validator_key: ValidatorKey | None
    prover_address: bytes | None
    prover_key: AccountKey | None  # None when the --from-key account is the prover


def write_home(p: JoinPlan) -> JoinedHome:
    """Create the home; on any failure remove what was written (the home was new or empty)."""
    from node.config import NodeConfigError, write_config_file
    from node.devnet import node_peer_id
    from p2p import P2PConfigError

    created = not p.home.exists()
    try:
        p.home.mkdir(parents=True, exist_ok=True)
        (p.home / GENESIS_FILE).write_bytes(p.genesis_bytes)
        peer_id = node_peer_id(p.home)
        vkey = pkey = None
        prover_address = None
        if p.validator:
            vkey = ValidatorKey.generate()
            write_key_file(p.home / VALIDATOR_KEY_FILE, vkey.to_json())
        settings = dict(p.settings)
        if p.prover:
            if p.payer is not None and p.prover_stake:
                # The prover signs its proofs with its account's key (node.prover.role): the
                # staking account is the prover, so its key goes where the node reads it.
                write_key_file(p.home / PROVER_KEY_FILE, p.payer.to_json())
                prover_address = p.payer.address
            else:
                pkey = AccountKey.generate()
                write_key_file(p.home / PROVER_KEY_FILE, pkey.to_json())
                prover_address = pkey.address
            settings["prover_address"] = to_checksum_address(prover_address)
        write_config_file(p.home, settings)
    except BaseException as exc:
        _undo(p.home, created)
        if isinstance(exc, OSError):
            raise CliError(f"cannot write {p.home}: {exc.strerror or exc}") from None
        if isinstance(exc, NodeConfigError | P2PConfigError):
            raise CliError(str(exc)) from None
        raise
    return JoinedHome(p.home, peer_id, vkey, prover_address, pkey)


def _undo(home: Path, created: bool) -> None:
    if created:
        shutil.rmtree(home, ignore_errors=True)
        return
    for child in home.iterdir():  # an empty folder given by the user: empty it again
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


# ---- staking -----------------------------------------------------------------------------
@dataclass(frozen=True)
class StakingCall:
    """One staking transaction, before signing: what any wallet needs to send it."""

    what: str
    value: int
    data: bytes

    def as_json(self) -> str:
        from execution.staking import STAKING_GAS_LIMIT, STAKING_SYSTEM_ADDRESS

        return json.dumps(
            {
                "to": to_checksum_address(STAKING_SYSTEM_ADDRESS),
                "value": str(self.value),
                "data": "0x" + self.data.hex(),
                "gas": STAKING_GAS_LIMIT,
            }
        )


def staking_calls(p: JoinPlan, joined: JoinedHome) -> list[StakingCall]:
    """The staking transactions to send; the bond only when its owner is known (the key signs
    the owner and the chain id into it)."""
    from execution.staking import StakingOp, StakingOpKind, bond_sign

    calls = []
    if joined.validator_key is not None and p.owner is not None:
        vk = joined.validator_key
        signature = bond_sign(vk.secret_key, p.genesis.eth_chain_id, p.owner)
        op = StakingOp(StakingOpKind.BOND, vk.public_key, signature)
        minimum = p.genesis.params.min_validator_stake
        calls.append(StakingCall("bond", p.bond or minimum, op.encode()))
    if joined.prover_address is not None:
        op = StakingOp(StakingOpKind.REGISTER_PROVER)
        minimum = p.genesis.params.min_prover_stake
        calls.append(StakingCall("register prover", p.prover_stake or minimum, op.encode()))
    return calls


def check_rpc_chain(p: JoinPlan, url: str) -> None:
    """The --rpc node must serve the genesis' chain (before anything is written)."""
    from node.cli.task_cmd import RpcClient, _quantity

    chain_id = _quantity(RpcClient(url).call("eth_chainId"), "chain id")
    if chain_id != p.genesis.eth_chain_id:
        raise CliError(
            f"--rpc {url} serves chain id {chain_id}, the genesis file is for "
            f"{p.genesis.eth_chain_id}: not the same network"
        )


def send_staking(p: JoinPlan, url: str, calls: list[StakingCall]) -> list[tuple[str, str]]:
    """Sign and send each call from --from-key, wait for its receipt; (what, tx hash)."""
    from execution.staking import StakingOp, build_staking_tx
    from node.cli.task_cmd import RpcClient, _quantity

    if p.payer is None:
        raise CliError("--stake needs --from-key")
    rpc = RpcClient(url)
    sender = to_checksum_address(p.payer.address)
    nonce = _quantity(rpc.call("eth_getTransactionCount", sender, "pending"), "nonce")
    head = rpc.call("eth_getBlockByNumber", "latest", False)
    if not isinstance(head, dict):
        raise CliError(f"{url} has no latest block")
    base_fee = _quantity(head.get("baseFeePerGas", "0x0"), "base fee")
    tip = 10**9
    sent = []
    for call in calls:
        if (call.what == "bond" and not p.bond) or (call.what != "bond" and not p.prover_stake):
            continue
        tx = build_staking_tx(
            p.payer.private_key,
            StakingOp.decode(call.data),
            chain_id=p.genesis.eth_chain_id,
            nonce=nonce,
            value=call.value,
            max_fee_per_gas=max(2 * base_fee + tip, 2 * tip),
            max_priority_fee_per_gas=tip,
        )
        tx_hash = str(rpc.call("eth_sendRawTransaction", "0x" + tx.raw.hex()))
        nonce += 1
        sent.append((call.what, tx_hash))
    deadline = time.monotonic() + RECEIPT_TIMEOUT_S
    for what, tx_hash in sent:
        while True:
            receipt = rpc.call("eth_getTransactionReceipt", tx_hash)
            if receipt is not None:
                if receipt.get("status") != "0x1":
                    raise CliError(f"the {what} transaction {tx_hash} failed: {receipt}")
                break
            if time.monotonic() > deadline:
                raise CliError(f"the {what} transaction {tx_hash} was not included in time")
            time.sleep(0.5)
    return sent


# ---- the command -------------------------------------------------------------------------
def run(args: argparse.Namespace) -> int:
    p = plan(args)
    if args.stake is not None:
        check_rpc_chain(p, args.rpc)
    joined = write_home(p)
    g = p.genesis
    print(f"joined chain {g.chain_id} (genesis 0x{g.hash.hex()}) in {joined.home}")
    print(f"  peer id:    {joined.peer_id}")
    print(f"  peers:      {', '.join(p.peers)}")
    print(f"  settings:   {joined.home / 'config' / 'node.json'} (preset {args.preset})")
    if joined.validator_key is not None:
        vk = joined.validator_key
        print(f"  validator:  {to_checksum_address(vk.address)}")
        print(f"    BLS public key:       0x{vk.public_key.hex()}")
        if p.owner is not None:
            print(f"    owner (sends the bond): {to_checksum_address(p.owner)}")
    if joined.prover_address is not None:
        where = f" (key: {joined.home / PROVER_KEY_FILE}, which signs its proofs)"
        print(f"  prover:     {to_checksum_address(joined.prover_address)}{where}")
    print()
    print("next steps:")
    print(f"  start the node (it syncs from its peers): ivcnet node start --home {joined.home}")
    calls = staking_calls(p, joined)
    if joined.validator_key is not None and p.owner is None:
        print(
            "  bond: not printed: it is signed for the account that sends it (its owner); "
            "give --owner ADDRESS (or --from-key) to ivcnet join to have it printed"
        )
    if not calls:
        if joined.validator_key is None:
            print("  (a full node: it follows the chain and serves RPC; nothing to stake)")
        return 0
    for call in calls:
        if call.what == "register prover" and joined.prover_key is not None:
            who = "the prover account itself (fund it first)"
        elif call.what == "bond" and p.owner is not None:
            who = f"{to_checksum_address(p.owner)} (it owns the stake; the bond is signed for it)"
        else:
            who = "a funded account (it owns the stake)"
        print(f"  {call.what}: send from {who}; value in wei (the minimum unless --stake):")
        print(f"    {call.as_json()}")
    if args.stake is None:
        return 0
    try:
        for what, tx_hash in send_staking(p, args.rpc, calls):
            print(f"  sent and included: {what} {tx_hash}")
    except CliError as exc:
        raise CliError(
            f"{exc} (the home {joined.home} is set up; any wallet can send the staking "
            "transactions printed above)"
        ) from None
    print(
        f"  the validator set follows the stakes {g.params.validator_set_delay} blocks after "
        f"the block that holds the bond; watch ivc_validators and "
        f"ivc_getStake({to_checksum_address(p.payer.address) if p.payer else ''})"
    )
    return 0
