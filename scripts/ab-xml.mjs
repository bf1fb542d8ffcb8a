// A/B for the tokenizer's hot path: two builds of the rabbit module in one process, their tree-row rounds
// interleaved (the bench's 10 MB stream, 4 KiB chunks, stanza_next), so that the machine's load hits both alike.
// Prints each one's median rate and the median of the per-round ratios B / A: what an @inline or a rewrite is
// worth, beyond the noise that two separate runs of `npm run bench` show.
//
//   cp build/rabbit.wasm /tmp/a.wasm; (edit, npm run build:wasm); node scripts/ab-xml.mjs /tmp/a.wasm build/rabbit.wasm

import { readFileSync } from "node:fs";
import { Core, coreImports } from "../build/host/core.js";
import { chunksOf, readStanzaTrees, xmppStream } from "../build/test/bench/xmpp-stream.js";

const ROUNDS = 15;
const ROUND_MS = 150;

function load(path) {
  let module;
  try {
    module = new WebAssembly.Module(readFileSync(path));
  } catch (error) {
    console.error(`ab-xml: ${path}: not a readable WebAssembly module (${error.code ?? error.message})`);
    process.exit(2);
  }
  const instance = new WebAssembly.Instance(module, coreImports({}, () => instance.exports.memory));
  return new Core(instance);
}

const [pathA, pathB] = process.argv.slice(2);
if (!pathA || !pathB) {
  console.error("usage: node scripts/ab-xml.mjs A.wasm B.wasm");
  process.exit(2);
}
const { header, body, stanzaCount } = xmppStream(10_000_000);
const stream = Buffer.concat([header, body]);
const chunks = chunksOf(stream, 4096);

/** One pass over the stream, as the bench's tree row (checked against the stream's count). */
const reader = (core) => () => {
  const stanzas = readStanzaTrees(core, chunks);
  if (stanzas !== stanzaCount) throw new Error(`${stanzas} stanzas read of ${stanzaCount}`);
};

/** MB/s over one round of at least ROUND_MS. */
function rate(pass) {
  let passes = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    pass();
    passes++;
    elapsed = performance.now() - start;
  } while (elapsed < ROUND_MS);
  return (passes * stream.length) / elapsed / 1e3;
}

const a = reader(load(pathA));
const b = reader(load(pathB));
rate(a); // warm-up: both reach the optimizing tier
rate(b);
const rates = { a: [], b: [], ratio: [] };
for (let round = 0; round < ROUNDS; round++) {
  const x = rate(a);
  const y = rate(b);
  rates.a.push(x);
  rates.b.push(y);
  rates.ratio.push(y / x);
}
const median = (values) => [...values].sort((p, q) => p - q)[values.length >> 1];
console.log(`A ${median(rates.a).toFixed(0)} MB/s, B ${median(rates.b).toFixed(0)} MB/s, B / A ${median(rates.ratio).toFixed(3)} (${ROUNDS} rounds)`);
