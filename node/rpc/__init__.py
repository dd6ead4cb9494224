"""The node's JSON-RPC 2.0 server (Ethereum `eth_`/`net_`/`web3_` methods and `ivc_` methods).

The server reads the chain only through `ChainView`; see chain_view.py for its contract and
docs/rpc.md for the method table.
"""

from node.rpc.app import RpcApp
from node.rpc.block_tags import BUILTIN_TAGS, BlockRef
from node.rpc.chain_view import (
    EMPTY_CODE_HASH,
    EMPTY_TRIE_ROOT,
    AccountProof,
    CallRequest,
    ChainView,
    ChainViewError,
    NodeStatus,
    PeerInfo,
    ProgramInfo,
    RpcBlock,
    RpcReceipt,
    RpcTransaction,
    StateUnavailable,
    SyncStatus,
    TaskInfo,
    TransactionRejected,
    ValidatorInfo,
)
from node.rpc.context import Handler, MethodTable, RpcContext, TagResolver
from node.rpc.dispatch import Dispatcher
from node.rpc.errors import (
    InternalError,
    InvalidParams,
    InvalidRequest,
    MethodNotFound,
    ParseError,
    ResponseTooLarge,
    RpcError,
    ServerError,
)
from node.rpc.params import Params
from node.rpc.rejections import GETH_MESSAGES, rejected, rejection_message
from node.rpc.server import (
    RpcBindError,
    RpcConfig,
    RpcEndpoint,
    build_app,
    default_methods,
    open_rpc_server,
    serve_rpc,
)

__all__ = [
    "BUILTIN_TAGS",
    "EMPTY_CODE_HASH",
    "EMPTY_TRIE_ROOT",
    "GETH_MESSAGES",
    "AccountProof",
    "BlockRef",
    "CallRequest",
    "ChainView",
    "ChainViewError",
    "Dispatcher",
    "Handler",
    "InternalError",
    "InvalidParams",
    "InvalidRequest",
    "MethodNotFound",
    "MethodTable",
    "NodeStatus",
    "Params",
    "ParseError",
    "PeerInfo",
    "ProgramInfo",
    "ResponseTooLarge",
    "RpcApp",
    "RpcBindError",
    "RpcBlock",
    "RpcConfig",
    "RpcContext",
    "RpcEndpoint",
    "RpcError",
    "RpcReceipt",
    "RpcTransaction",
    "ServerError",
    "StateUnavailable",
    "SyncStatus",
    "TagResolver",
    "TaskInfo",
    "TransactionRejected",
    "ValidatorInfo",
    "build_app",
    "default_methods",
    "open_rpc_server",
    "rejected",
    "rejection_message",
    "serve_rpc",
]
