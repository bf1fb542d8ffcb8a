// The core built alone (build/core.wasm: MD5, base64, tokenizer, stanza trees, dump), as a porter would take it: what
// it imports and exports, and that it reads and dumps the seed's stanzas exactly as the whole rabbit's module does.
// Its vectors and error codes are checked with the other builds (md5, base64 and tokenizer tests).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { Core, modulePath, type Build } from "../host/core.js";
import { tokenize } from "../host/xml.js";
import { seedConnections } from "./helpers.js";

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
