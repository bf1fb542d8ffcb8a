// The fixed arena: declared with equal initial and maximum size, never grown, all static data inside it.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { compileModule, Core, coreImports, modulePath, type Build } from "../host/core.js";
import { memoryLimits } from "../host/wasm-info.js";
import { seedConnections } from "./helpers.js";

/** A build's memory and arena_end, with no service behind its imports (the device build has no IO_OUT: no Core). */
function instantiate(build: Build): { memory: WebAssembly.Memory; arena_end(): number } {
  let instance: WebAssembly.Instance | undefined = undefined;
  instance = new WebAssembly.Instance(compileModule(build), coreImports({}, () => instance!.exports.memory as WebAssembly.Memory));
  return instance.exports as unknown as { memory: WebAssembly.Memory; arena_end(): number };
}

for (const variant of ["release", "debug", "core", "device"] as const) {
  test(`${variant} module: memory initial == maximum, no page more than its memory map needs, and it cannot grow`, () => {
    const limits = memoryLimits(readFileSync(modulePath(variant)));
    assert.equal(limits.maximum, limits.initial);
    assert.ok(limits.initial > 0);
    const exports = instantiate(variant);
    assert.equal(exports.memory.buffer.byteLength, limits.initial * 65536);
    assert.throws(() => exports.memory.grow(1), RangeError);
    assert.ok(exports.arena_end() <= limits.initial * 65536, "static data fits the declared memory");
    assert.equal(limits.initial, Math.ceil(exports.arena_end() / 65536), "the memory is what the memory map uses, in whole pages");
  });
}

test("the device build: one page, of which its memory map uses less than 30 KiB (the rabbit's RAM)", () => {
  const limits = memoryLimits(readFileSync(modulePath("device")));
  assert.equal(limits.initial, 1);
  assert.ok(instantiate("device").arena_end() < 30 * 1024);
});

for (const variant of ["release", "core"] as const) test(`${variant} module: memory size is unchanged after hashing 1 MiB and tokenizing 10 MB`, () => {
  const core = Core.load({}, variant);
  const before = core.exports.memory.buffer.byteLength;
  const mebibyte = new Uint8Array(1 << 20).map((_, i) => (i * 31 + 7) & 0xff);
  assert.equal(core.md5(mebibyte).length, 16);

  // A 10 MB stream: the seed's first server message, then its stanzas repeated.
  const [first] = seedConnections();
  const header = first!.wire[0]!;
  const stanzas = Buffer.concat(first!.wire.slice(1));
  const e = core.exports;
  e.xml_reset();
  let fed = 0;
  let events = 0;
  const feed = (chunk: Uint8Array) => {
    for (let at = 0; at < chunk.length; at += 4096) {
      const piece = chunk.subarray(at, at + 4096);
      assert.equal(e.xml_feed(core.put(piece), piece.length), 0);
      const result = e.xml_drain();
      assert.ok(result >= 0, `tokenizer error ${result}`);
      events += result;
      fed += piece.length;
    }
  };
  feed(header);
  const block = Buffer.concat(Array.from({ length: Math.ceil(65536 / stanzas.length) }, () => stanzas));
  while (fed < 10_000_000) feed(block);
  assert.ok(events > 100_000);
  assert.equal(core.exports.memory.buffer.byteLength, before);
});
