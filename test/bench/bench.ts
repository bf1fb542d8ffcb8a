// `npm run bench`: the module against the named competitors, measured in the same run on the same inputs. Prints
// figures and ratios (ours / theirs, higher is better for us); asserts nothing.

import { createHash, hash as oneShotHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { createMD5, createSHA1 } from "hash-wasm";
import jsMd5Module from "js-md5";
import { Element as LtxElement } from "ltx";
import SaxLtx from "ltx/src/parsers/ltx.js";
import { SaxesParser } from "saxes";
import { Core, modulePath } from "../../host/core.js";
import { functionSizes } from "../../host/wasm-info.js";
import { chunksOf, readStanzaTrees, SMALL_STANZA, xmppStream } from "./xmpp-stream.js";

const ROUNDS = 7;
const ROUND_MS = 200;

/**
 * Runs the contenders in turn, round after round (each for at least ROUND_MS), so that a change in the machine's load
 * hits them alike. Returns each contender's median rate (operations per second) and the median over rounds of the
 * ratio first / other, which is what the table's ratio columns show.
 */
function compare(operations: (() => void)[], batch = 1): { rates: number[]; ratios: number[] } {
  const perRound: number[][] = [];
  for (let round = -1; round < ROUNDS; round++) {
    const rates = operations.map((operation) => {
      let count = 0;
      const start = performance.now();
      let elapsed = 0;
      do {
        for (let i = 0; i < batch; i++) operation();
        count += batch;
        elapsed = performance.now() - start;
      } while (elapsed < ROUND_MS);
      return (count * 1000) / elapsed;
    });
    if (round >= 0) perRound.push(rates); // round -1 warms up
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  return {
    rates: operations.map((_, i) => median(perRound.map((r) => r[i]!))),
    ratios: operations.slice(1).map((_, i) => median(perRound.map((r) => r[0]! / r[i + 1]!))),
  };
}

function format(value: number, digits = 1): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)} M`;
  if (value >= 1e4) return `${(value / 1e3).toFixed(0)} k`;
  return value.toFixed(digits);
}

/** A table row: our figure, theirs, and our speed relative to each (higher is better for us). */
function row(label: string, values: number[], ratios: number[], unit: string): string {
  const cells = values.map((v) => format(v).padStart(12));
  return `  ${label.padEnd(30)}${cells.join("")}   ${ratios.map((r) => `${r.toFixed(2)}x`.padStart(8)).join("")}   ${unit}`;
}

const core = Core.load({}, "release");
const e = core.exports;

// ---------------------------------------------------------------------------------------------------------------------
// MD5

const hashWasm = await createMD5();
const jsMd5 = jsMd5Module.md5;
const md5Contenders: Hasher[] = [
  ["nabaztag-vm", (data) => {
    if (data.length <= core.inputCapacity) {
      core.bytes.set(data, core.input);
      e.md5_digest(core.input, data.length, core.output, 0);
      return core.bytes.slice(core.output, core.output + 16);
    }
    return core.md5(data);
  }],
  ["node:crypto", (data) => createHash("md5").update(data).digest()],
  // Node's one-shot form (no Hash object): its best use for one message.
  ["crypto.hash", (data) => oneShotHash("md5", data, "buffer")],
  ["hash-wasm", (data) => {
    hashWasm.init();
    hashWasm.update(data);
    return hashWasm.digest("binary");
  }],
  ["js-md5", (data) => jsMd5.arrayBuffer(data)],
];

type Hasher = [string, (data: Uint8Array) => Uint8Array | ArrayBuffer];

/** Checks that every contender gives node:crypto's digest, then times them at 64 B, 1 KiB and 1 MiB. */
function hashTable(title: string, algorithm: string, contenders: Hasher[]): void {
  for (const size of [0, 64, 1000, 1 << 20]) {
    const data = new Uint8Array(size).map((_, i) => (i * 13 + 5) & 0xff);
    const expected = createHash(algorithm).update(data).digest("hex");
    for (const [name, fn] of contenders) {
      const got = Buffer.from(new Uint8Array(fn(data))).toString("hex");
      if (got !== expected) throw new Error(`${name} disagrees on ${title} of ${size} bytes`);
    }
  }
  console.log(`${title.padEnd(32)}${contenders.map(([n]) => n.padStart(12)).join("")}   ${contenders.slice(1).map(([n]) => `/${n.slice(0, 6)}`.padStart(8)).join("")}`);
  for (const [label, size, batch] of [["64 B message", 64, 256], ["1 KiB message", 1024, 64], ["1 MiB message", 1 << 20, 1]] as const) {
    const data = new Uint8Array(size).map((_, i) => (i * 13 + 5) & 0xff);
    const { rates, ratios } = compare(contenders.map(([, fn]) => () => fn(data)), batch);
    if (size >= 1 << 20) console.log(row(label, rates.map((r) => (r * size) / 1e6), ratios, "MB/s"));
    else console.log(row(label, rates, ratios, "hashes/s"));
  }
}

console.log(`nabaztag-vm benchmark: node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
console.log(`Contenders run in turn, ${ROUNDS} rounds of ${ROUND_MS} ms each; figures are medians, ratios the median of each round's ours / theirs.`);
console.log();
hashTable("MD5", "md5", md5Contenders);

// ---------------------------------------------------------------------------------------------------------------------
// SHA-1

const hashWasmSha1 = await createSHA1();
const sha1Contenders: Hasher[] = [
  ["nabaztag-vm", (data) => {
    if (data.length <= core.inputCapacity) {
      core.bytes.set(data, core.input);
      e.sha1_digest(core.input, data.length, core.output);
      return core.bytes.slice(core.output, core.output + 20);
    }
    return core.sha1(data);
  }],
  ["node:crypto", (data) => createHash("sha1").update(data).digest()],
  ["crypto.hash", (data) => oneShotHash("sha1", data, "buffer")],
  ["hash-wasm", (data) => {
    hashWasmSha1.init();
    hashWasmSha1.update(data);
    return hashWasmSha1.digest("binary");
  }],
];
console.log();
hashTable("SHA-1", "sha1", sha1Contenders);

// ---------------------------------------------------------------------------------------------------------------------
// XML

const { header, body, stanzaCount } = xmppStream(10_000_000);
const stream = Buffer.concat([header, body]);
const chunks = chunksOf(stream, 4096);

let sink = 0;
const xmlContenders: [string, () => number][] = [
  ["nabaztag-vm", () => {
    e.xml_reset();
    let events = 0;
    for (const chunk of chunks) {
      core.bytes.set(chunk, core.input);
      e.xml_feed(core.input, chunk.length);
      const n = e.xml_drain();
      if (n < 0) throw new Error(`tokenizer error ${n}`);
      events += n;
    }
    return events;
  }],
  ["ltx", () => {
    const parser = new SaxLtx();
    let events = 0;
    parser.on("startElement", () => { events++; });
    parser.on("endElement", () => { events++; });
    parser.on("text", () => { events++; });
    for (const chunk of chunks) parser.write(chunk);
    return events;
  }],
  ["saxes", () => {
    const parser = new SaxesParser({ xmlns: true, fragment: false });
    const decoder = new TextDecoder("utf-8");
    let events = 0;
    parser.on("opentag", () => { events++; });
    parser.on("closetag", () => { events++; });
    parser.on("text", () => { events++; });
    for (const chunk of chunks) parser.write(decoder.decode(chunk, { stream: true }));
    return events;
  }],
];

console.log();
console.log(`XML tokenizer${" ".repeat(19)}${xmlContenders.map(([n]) => n.padStart(12)).join("")}   ${xmlContenders.slice(1).map(([n]) => `/${n}`.padStart(8)).join("")}`);
const stream10 = compare(xmlContenders.map(([, fn]) => () => { sink += fn(); }));
console.log(row(`${(stream.length / 1e6).toFixed(1)} MB stream, 4 KiB chunks`, stream10.rates.map((r) => (r * stream.length) / 1e6), stream10.ratios, "MB/s"));
console.log(`  (${stanzaCount} stanzas with entities, namespaces, UTF-8, base64 payloads)`);

// What the rabbit really does with a stream: tokenize it and build the tree of each stanza it reads. ltx as xmpp.js's
// @xmpp/xml uses it (SaxLtx events building ltx Elements, one tree per stanza), saxes building the same shape.
interface Node {
  name: string;
  attrs: Record<string, string>;
  children: (Node | string)[];
  parent: Node | undefined;
}
const treeContenders: [string, () => number][] = [
  ["nabaztag-vm", () => readStanzaTrees(core, chunks)],
  ["ltx", () => {
    const parser = new SaxLtx();
    let stanzas = 0;
    let root: LtxElement | undefined;
    let cursor: LtxElement | undefined;
    parser.on("startElement", (name: string, attrs: Record<string, string>) => {
      const element = new LtxElement(name, attrs);
      if (!root) root = element;
      else if (cursor !== root) cursor!.cnode(element);
      cursor = element;
    });
    parser.on("endElement", () => {
      if (cursor === root) return;
      if (!cursor!.parent) {
        stanzas++;
        cursor = root;
        return;
      }
      cursor = cursor!.parent as LtxElement;
    });
    parser.on("text", (text: string) => {
      if (cursor && cursor !== root) cursor.t(text);
    });
    for (const chunk of chunks) parser.write(chunk);
    return stanzas;
  }],
  ["saxes", () => {
    const parser = new SaxesParser({ xmlns: true, fragment: false });
    const decoder = new TextDecoder("utf-8");
    let stanzas = 0;
    let depth = 0;
    let cursor: Node | undefined;
    parser.on("opentag", (tag) => {
      depth++;
      if (depth === 1) return;
      const attrs: Record<string, string> = {};
      for (const [name, attribute] of Object.entries(tag.attributes)) attrs[name] = typeof attribute === "string" ? attribute : attribute.value;
      const node: Node = { name: tag.name, attrs, children: [], parent: cursor };
      cursor?.children.push(node);
      cursor = node;
    });
    parser.on("closetag", () => {
      depth--;
      if (depth === 0) return;
      if (depth === 1) stanzas++;
      cursor = cursor?.parent;
    });
    parser.on("text", (text) => {
      if (cursor) cursor.children.push(text);
    });
    for (const chunk of chunks) parser.write(decoder.decode(chunk, { stream: true }));
    return stanzas;
  }],
];
const treeCounts = treeContenders.map(([, fn]) => fn());
if (new Set(treeCounts).size !== 1 || treeCounts[0] !== stanzaCount) throw new Error(`the tree builders disagree on the stanzas: ${treeCounts.join(", ")} of ${stanzaCount}`);
const trees = compare(treeContenders.map(([, fn]) => () => { sink += fn(); }));
console.log(row("tokenize + build stanza trees", trees.rates.map((r) => (r * stream.length) / 1e6), trees.ratios, "MB/s"));

// One small stanza per read, into a stream that is already open.
const smallContenders: [string, () => void][] = (() => {
  e.xml_reset();
  core.bytes.set(header, core.input);
  e.xml_feed(core.input, header.length);
  e.xml_drain();
  const ltx = new SaxLtx();
  ltx.on("startElement", () => { sink++; });
  ltx.write(header);
  const saxes = new SaxesParser({ xmlns: true });
  saxes.on("opentag", () => { sink++; });
  saxes.write(header.toString());
  return [
    ["nabaztag-vm", () => {
      core.bytes.set(SMALL_STANZA, core.input);
      e.xml_feed(core.input, SMALL_STANZA.length);
      sink += e.xml_drain();
    }],
    ["ltx", () => ltx.write(SMALL_STANZA)],
    ["saxes", () => saxes.write(SMALL_STANZA.toString())],
  ];
})();
const small = compare(smallContenders.map(([, fn]) => fn), 1000);
console.log(row(`small stanza (${SMALL_STANZA.length} B) per read`, small.rates.map((r) => 1e9 / r), small.ratios, "ns/stanza"));

// ---------------------------------------------------------------------------------------------------------------------
// Module size

console.log();
/** Code bytes per source file, from a build of the same options with a name section. */
function codeByFile(sizesBuild: string): string {
  const areas = new Map<string, number>();
  for (const { name, size } of functionSizes(readFileSync(new URL(`../../${sizesBuild}`, import.meta.url)))) {
    const file = /^assembly\/(.+?)\/[^/]+$/.exec(name)?.[1] ?? "runtime and start";
    areas.set(file, (areas.get(file) ?? 0) + size);
  }
  return [...areas].sort((a, b) => b[1] - a[1]).map(([file, size]) => `${file} ${size}`).join(", ");
}
const coreBinary = readFileSync(modulePath("core"));
console.log(`Module: core (MD5, base64, tokenizer, trees, dump) ${coreBinary.length} bytes (${(coreBinary.length / 1024).toFixed(2)} KiB), gzip -9 ${gzipSync(coreBinary, { level: 9 }).length} bytes`);
console.log(`  code by source file: ${codeByFile("core.sizes.wasm")}`);
const release = readFileSync(modulePath("release"));
console.log(`Module: the whole rabbit ${release.length} bytes (${(release.length / 1024).toFixed(2)} KiB), gzip -9 ${gzipSync(release, { level: 9 }).length} bytes`);
console.log(`  code by source file: ${codeByFile("rabbit.sizes.wasm")}`);

// Each build on the rabbit's CPU (scripts/size.mjs: ARM7TDMI Thumb, -Os, through wasm2c), against the original.
interface SizeRow { build: string; wasm_bytes: number; arm_flash_bytes: number | null; arm_ram_bytes: number | null; fixed_memory_bytes: number }
interface SizeScript {
  SIZE_BUILDS: { build: string; wasm: string }[];
  ORIGINAL_BYTECODE_BYTES: number;
  ORIGINAL_XMPP_BYTES: number;
  hasArmTools(): boolean;
  setQuiet(quiet: boolean): void;
  measure(entry: { build: string; wasm: string }, arm: boolean): { row: SizeRow };
}
const sizeScript = (await import(new URL("../../../scripts/size.mjs", import.meta.url).href)) as SizeScript;
sizeScript.setQuiet(true);
const arm = sizeScript.hasArmTools();
const original = sizeScript.ORIGINAL_BYTECODE_BYTES;
const originalXmpp = sizeScript.ORIGINAL_XMPP_BYTES;
console.log();
console.log(`Builds on ARM7TDMI Thumb (-Os, wasm2c; flash = text + rodata + data), against rev 18673's bytecode: ${original} B, about ${originalXmpp} B of it XMPP`);
console.log(`  ${"build".padEnd(10)}${"wasm B".padStart(10)}${"fixed memory B".padStart(16)}${"ARM flash B".padStart(13)}${"ARM RAM B".padStart(11)}${"/bytecode".padStart(11)}${"/XMPP share".padStart(13)}`);
for (const entry of sizeScript.SIZE_BUILDS) {
  const { row } = sizeScript.measure(entry, arm);
  const flash = row.arm_flash_bytes;
  const ratio = (of: number) => (flash === null ? "—" : `${(flash / of).toFixed(2)}x`);
  console.log(`  ${row.build.padEnd(10)}${String(row.wasm_bytes).padStart(10)}${String(row.fixed_memory_bytes).padStart(16)}` +
    `${String(flash ?? "—").padStart(13)}${String(row.arm_ram_bytes ?? "—").padStart(11)}${ratio(original).padStart(11)}${ratio(originalXmpp).padStart(13)}`);
}
if (!arm) console.log("  (no ARM figures: node scripts/prepare.mjs --port installs wasm2c and the ARM cross compiler)");
if (sink === 0.5) console.log(sink);
