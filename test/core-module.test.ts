// The core built alone (build/core.wasm: MD5, base64, tokenizer, stanza trees, dump), as a porter would take it: what
// it imports and exports, and that it reads and dumps the seed's stanzas exactly as the whole rabbit's module does.
// Its vectors and error codes are checked with the other builds (md5, base64 and tokenizer tests).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { Core, modulePath, type Build } from "../host/core.js";
import { tokenize } from "../host/xml.js";
import { ROOT, seedConnections } from "./helpers.js";

const moduleOf = (build: Build) => new WebAssembly.Module(readFileSync(modulePath(build)));

test("core module: imports only the UART, and every export is one of the rabbit's with the same kind", () => {
  const core = moduleOf("core");
  assert.deepEqual(WebAssembly.Module.imports(core).map((i) => `${i.module}.${i.name}`), ["vm.uart_write"]);
  const rabbit = new Map(WebAssembly.Module.exports(moduleOf("release")).map((e) => [e.name, e.kind]));
  const exports = WebAssembly.Module.exports(core);
  for (const name of ["md5_digest", "base64_encode", "base64_decode_firmware", "xml_next", "stanza_next", "stanza_dump", "memory"]) {
    assert.ok(exports.some((e) => e.name === name), `core exports ${name}`);
  }
  for (const { name, kind } of exports) assert.equal(rabbit.get(name), kind, `the rabbit's module exports ${name} as a ${kind}`);
  assert.ok(!exports.some((e) => e.name === "boot" || e.name === "sha1_digest"), "no rabbit logic in the core");
});

/** Per connection of the seed: the stanza trees' dumps, as UART text. */
function dumps(build: Build): string[] {
  const uart: string[] = [];
  const core = Core.load({ uartWrite: (bytes) => uart.push(Buffer.from(bytes).toString("latin1")) }, build);
  const e = core.exports;
  return seedConnections().map((connection) => {
    uart.length = 0;
    e.stanza_reset();
    const stream = Buffer.concat(connection.wire);
    e.stanza_feed(core.put(stream), stream.length);
    for (let result = e.stanza_next(0); result !== 0; result = e.stanza_next(0)) {
      assert.ok(result > 0, `reader error ${result}`);
      if (result === 2) e.stanza_dump(0);
    }
    return uart.join("");
  });
}

test("core module: the seed's server messages give the same events and the same dumps as the rabbit's module", () => {
  const core = Core.load({}, "core");
  const release = Core.load({}, "release");
  for (const connection of seedConnections()) {
    const ours = tokenize(core, connection.wire);
    assert.equal(ours.error, undefined);
    assert.ok(ours.events.length > 10);
    assert.deepEqual(ours.events, tokenize(release, connection.wire).events);
  }
  const fromCore = dumps("core");
  assert.deepEqual(fromCore, dumps("release"));
  assert.match(fromCore[0]!, /^ {4}\|stream:features\n {4}\|\.\.mechanisms\n {4}\| {3}xmlns => urn:ietf:params:xml:ns:xmpp-sasl\n/);
  assert.match(fromCore[0]!, / {4}\|failure\n {4}\| xmlns => urn:ietf:params:xml:ns:xmpp-sasl\n {4}\|\.\.not-authorized\n$/);
});

/** build/abi.wasm's exported constants (the full build's limits). */
function abiConstant(name: string): number {
  const module = new WebAssembly.Module(readFileSync(`${ROOT}build/abi.wasm`));
  const instance = new WebAssembly.Instance(module, { env: { abort: () => assert.fail("abort") } });
  const value = instance.exports[name];
  assert.ok(value instanceof WebAssembly.Global, `build/abi.wasm exports ${name}`);
  return value.value as number;
}

/** Every stanza_next result, fed `text` in one chunk: as many calls as there are results, up to the first error. */
function stanzaResults(core: Core, text: string): number[] {
  const e = core.exports;
  const bytes = Buffer.from(text);
  const results: number[] = [];
  e.stanza_reset();
  for (let at = 0; at < bytes.length; at += core.inputCapacity) {
    const chunk = bytes.subarray(at, at + core.inputCapacity);
    assert.equal(e.stanza_feed(core.put(chunk), chunk.length), 0);
    for (let result = e.stanza_next(0); result !== 0; result = e.stanza_next(0)) {
      results.push(result);
      if (result < 0) return [...results, e.stanza_next(0)];
    }
  }
  return results;
}

test("stanza trees: a stanza its tree cannot hold (nodes, attributes, pool) is READ_TOO_LARGE at once, before it ends, and stays", () => {
  const header = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='1' from='lab' version='1.0'>";
  const nodesMax = abiConstant("TREE_NODES_MAX");
  const attributesMax = abiConstant("TREE_ATTRS_MAX");
  const poolCapacity = abiConstant("TREE_POOL_CAPACITY");
  const tooLarge = abiConstant("READ_TOO_LARGE");
  // None of these stanzas ends, and a malformed tag follows in the same chunk: the tree's error is the first problem,
  // so it must come at once, not when the chunk or the stanza ends.
  const nineAttributes = Array.from({ length: 9 }, (_, i) => ` a${i}='${i}'`).join("");
  const cases = {
    nodes: `<message>${"<a/>".repeat(nodesMax)}`,
    attributes: `<message>${`<a${nineAttributes}/>`.repeat(Math.ceil((attributesMax + 1) / 9))}`,
    pool: `<message>${`<b>${"x".repeat(200)}</b>`.repeat(Math.ceil((poolCapacity + 1) / 200))}`,
  };
  assert.ok(Math.ceil((attributesMax + 1) / 9) + 1 < nodesMax && 2 * Math.ceil((poolCapacity + 1) / 200) + 1 < nodesMax);
  for (const build of ["release", "core"] as const) {
    const core = Core.load({}, build);
    for (const [name, stanza] of Object.entries(cases)) {
      assert.deepEqual(stanzaResults(core, `${header}${stanza}<>`), [1, tooLarge, tooLarge], `${build}: ${name}`);
      // One node, attribute or pool byte fewer fits: the stanza is read whole once it ends.
      const fits = name === "nodes" ? `<message>${"<a/>".repeat(nodesMax - 1)}</message>` : undefined;
      if (fits) assert.deepEqual(stanzaResults(core, header + fits), [1, 2], `${build}: ${name} at the limit`);
      // The tokenizer alone has no such limit: the same bytes are events.
      const events = tokenize(core, [Buffer.from(header + stanza)]);
      assert.equal(events.error, undefined, `${build}: ${name} as events`);
    }
  }
});

test("stanza trees: the tokenizer they share gives events again to xml_next after stanza_next", () => {
  const core = Core.load({}, "core");
  const e = core.exports;
  e.stanza_reset();
  const header = Buffer.from("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><iq id='1'/>");
  e.stanza_feed(core.put(header), header.length);
  assert.deepEqual([e.stanza_next(0), e.stanza_next(0), e.stanza_next(0)], [1, 2, 0]);
  const next = Buffer.from("<message><body>hi</body></message>");
  e.xml_feed(core.put(next), next.length);
  // ELEMENT_START message, ELEMENT_START body, TEXT, ELEMENT_END body, ELEMENT_END message, then need more.
  assert.deepEqual(Array.from({ length: 6 }, () => e.xml_next()), [2, 2, 5, 4, 4, 0]);
});
