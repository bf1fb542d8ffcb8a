// The debug tree dump, byte for byte as in the seed log.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Core } from "../host/core.js";
import { afterStreamHeader, loggedDumps, parseDebugLog, serverConnections, type LogBlock } from "../host/debug-log.js";
import { readSeedLog, seedConnections } from "./helpers.js";

const uart: string[] = [];
const core = Core.load({ uartWrite: (bytes) => uart.push(Buffer.from(bytes).toString("latin1")) }, "debug");
const FIRMWARE_READER = 1;

function firmwareDump(stanza: Buffer): string[] {
  uart.length = 0;
  const e = core.exports;
  e.quirks_set_all(1);
  assert.equal(e.firmware_read(core.put(stanza), stanza.length, 0), FIRMWARE_READER, "a whole element");
  e.stanza_dump(0);
  return uart.join("").split("\n").slice(0, -1);
}

const seedEntries = parseDebugLog(readSeedLog());
const seedDumps = () => loggedDumps(seedEntries);

test("the seed shows six dumps: features twice, failure, register form, register result, challenge", () => {
  const dumps = seedDumps();
  assert.deepEqual(dumps.map((d) => d.lines[0]), [
    "    |stream:features", "    |failure", "    |stream:features", "    |iq", "    |iq", "    |challenge",
  ]);
});

test("firmware reader + dump reproduce every dump of the seed byte for byte", () => {
  const wireByBlock = new Map<LogBlock, Buffer>();
  for (const connection of serverConnections(seedEntries)) {
    connection.blocks.forEach((block, i) => wireByBlock.set(block, connection.wire[i]!));
  }
  for (const { received, lines } of seedDumps()) {
    assert.deepEqual(firmwareDump(afterStreamHeader(wireByBlock.get(received)!)), lines);
  }
});

test("the register form dump shows the query content as one raw text line, as the firmware's reader saw it", () => {
  const form = seedConnections()[1]!.wire[1]!;
  const lines = firmwareDump(form);
  assert.equal(lines.length, 6);
  assert.match(lines[5]!, /^ {4}!\.\.\.\.<username\/><password\/><email\/><name\/><x xmlns="jabber:x:data" type="form">.*<\/x>$/);
});

test("the streaming tokenizer's trees dump the same where no firmware quirk is involved", () => {
  const e = core.exports;
  for (const connection of seedConnections()) {
    e.stanza_reset();
    const stream = Buffer.concat(connection.wire);
    e.stanza_feed(core.put(stream), stream.length);
    const dumps: string[][] = [];
    for (;;) {
      const result = e.stanza_next(0);
      assert.ok(result >= 0, `reader error ${result}`);
      if (result === 0) break;
      if (result !== 2) continue;
      uart.length = 0;
      e.stanza_dump(0);
      dumps.push(uart.join("").split("\n").slice(0, -1));
    }
    // Features and challenge are identical; the failure shows <not-authorized/> as the element it is.
    assert.deepEqual(dumps[0], firmwareDump(afterStreamHeader(connection.wire[0]!)));
    const failure = dumps.at(-1)!;
    assert.deepEqual(failure, ["    |failure", "    | xmlns => urn:ietf:params:xml:ns:xmpp-sasl", "    |..not-authorized"]);
  }
});

test("firmware reader: whitespace before a stanza is a text item; an unfinished stanza is incomplete", () => {
  const e = core.exports;
  e.quirks_set_all(1);
  const spaced = Buffer.from(" <iq type='result' id='1'></iq>");
  assert.equal(e.firmware_read(core.put(spaced), spaced.length, 0), 2);
  assert.equal(e.firmware_text_length(), 1);
  const partial = Buffer.from("<iq type='result' id='1'><query>");
  assert.equal(e.firmware_read(core.put(partial), partial.length, 0), 0);
});

test("firmware reader: spaces around '=' crash the firmware (syntax error); with the quirk off they are read", () => {
  const e = core.exports;
  const odd = Buffer.from("<iq type = 'result' id='1'></iq>");
  e.quirks_set_all(1);
  assert.equal(e.firmware_read(core.put(odd), odd.length, 0), -1);
  e.quirk_set(34, 0); // xml-attr-syntax off
  assert.equal(e.firmware_read(core.put(odd), odd.length, 0), 1);
  uart.length = 0;
  e.stanza_dump(0);
  assert.deepEqual(uart.join("").split("\n").slice(0, 3), ["    |iq", "    | type => result", "    | id => 1"]);
  e.quirks_set_all(1);
});

test("firmware reader: an empty element then a same-name element in one read truncates the rest (xml-empty-truncate)", () => {
  const e = core.exports;
  e.quirks_set_all(1);
  const two = Buffer.from("<iq type='result' id='1'/><iq type='get' id='2'><ping xmlns='urn:xmpp:ping'/></iq>");
  assert.equal(e.firmware_read(core.put(two), two.length, 0), 1);
  const restEnd = e.firmware_rest_end();
  assert.ok(restEnd < two.length, "the rest is cut at the first </iq>");
  e.quirk_set(30, 0); // xml-empty-truncate off
  assert.equal(e.firmware_read(core.put(two), two.length, 0), 1);
  assert.equal(e.firmware_rest_end(), two.length);
  e.quirks_set_all(1);
});
