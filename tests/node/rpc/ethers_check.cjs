// ethers v6 against a real node: what a dapp or script does first and routinely.
// Run by tests/node/test_web3_ethers.py as `node ethers_check.cjs URL PRIVATE_KEY CHAIN_ID`;
// exits non-zero with the failed check, prints "OK" last on success.
"use strict";
const { ethers } = require("ethers");

function check(condition, what) {
  if (!condition) throw new Error("check failed: " + what);
}

async function main() {
  const [url, key, chainId] = process.argv.slice(2);
  const provider = new ethers.JsonRpcProvider(url);
  const wallet = new ethers.Wallet(key, provider);
  const to = "0x00000000000000000000000000000000000b0b03";

  const network = await provider.getNetwork();
  check(network.chainId === BigInt(chainId), "chain id");
  check((await provider.getBlockNumber()) >= 1, "block number");
  const funded = await provider.getBalance(wallet.address);
  check(funded > 0n, "funded balance");
  check((await provider.getBalance(wallet.address, "earliest")) === funded, "earliest balance");
  check((await provider.getTransactionCount(wallet.address, "pending")) === 0, "pending nonce");
  const fees = await provider.getFeeData();
  check(fees.gasPrice > 0n && fees.maxFeePerGas >= fees.gasPrice, "fee data");
  check((await provider.getCode(to)) === "0x", "code");
  check((await provider.getStorage(to, 0)) === ethers.ZeroHash, "storage");
  check((await provider.estimateGas({ from: wallet.address, to, value: 5n })) === 21000n, "estimate");
  check((await provider.call({ from: wallet.address, to, value: 5n })) === "0x", "call");

  // ethers fills chainId, nonce, gas and EIP-1559 fees from the node, signs, sends, waits.
  const tx = await wallet.sendTransaction({ to, value: 12345n });
  check(tx.type === 2, "transaction type");
  const receipt = await tx.wait(1, 60000);
  check(receipt.status === 1 && receipt.gasUsed === 21000n, "receipt");
  const mined = await provider.getTransaction(tx.hash);
  check(mined.blockNumber === receipt.blockNumber && mined.from === wallet.address, "transaction");
  check(mined.value === 12345n && mined.nonce === 0, "transaction fields");
  const block = await provider.getBlock(receipt.blockNumber, true);
  check(block.hash === receipt.blockHash, "block hash");
  check(block.prefetchedTransactions.some((t) => t.hash === tx.hash), "full block");
  check((await provider.getBlock(receipt.blockHash)).number === receipt.blockNumber, "by hash");
  check((await provider.getBalance(to)) === 12345n, "recipient balance");

  // Concurrent calls: ethers sends them as one JSON-RPC batch.
  const many = await Promise.all(Array.from({ length: 50 }, () => provider.getBalance(to)));
  check(many.every((b) => b === 12345n), "batched balances");

  // Refusals come back classified: unsupported method, used nonce.
  let code = null;
  try {
    await provider.send("eth_getLogs", [{}]);
  } catch (error) {
    code = error.code;
  }
  check(code === "UNSUPPORTED_OPERATION", "eth_getLogs refused as unsupported, got " + code);
  code = null;
  try {
    await wallet.sendTransaction({ to, value: 1n, nonce: 0 });
  } catch (error) {
    code = error.code;
  }
  check(code === "NONCE_EXPIRED", "replay refused as NONCE_EXPIRED, got " + code);
  provider.destroy();
  console.log("OK");
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
