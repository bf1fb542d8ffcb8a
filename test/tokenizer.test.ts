// The streaming XML tokenizer: resumable at every byte, bounded, restricted XML rejected, never a trap.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Core } from "../host/core.js";
import { tokenize, XML_ERROR_CODES, type XmlEvent } from "../host/xml.js";
import { randomBytes, randomInt, seedConnections, seededRandom } from "./helpers.js";

const core = Core.load({}, "debug");
const release = Core.load({}, "release");
/** The core built alone (build/core.wasm). */
const coreOnly = Core.load({}, "core");
const HEADER = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='x' version='1.0'>";

function events(input: string | Uint8Array, c = core): XmlEvent[] {
  const result = tokenize(c, [typeof input === "string" ? Buffer.from(input) : input]);
  assert.equal(result.error, undefined, `unexpected error: ${result.error}`);
  return result.events;
}

function errorOf(input: string | Uint8Array, c = core): string | undefined {
  return tokenize(c, [typeof input === "string" ? Buffer.from(input) : input]).error;
}

test("the seed's first server message gives the stream header and the features", () => {
  const [first] = seedConnections();
  const list = events(first!.wire[0]!);
  assert.deepEqual(list[0], {
    kind: "STREAM_START", level: 0, name: "stream:stream", prefixLength: 6,
    ns: "http://etherx.jabber.org/streams", attributeCount: 6,
  });
  assert.deepEqual(list.slice(1, 7).map((e) => `${e.name}=${e.value}`), [
    "xmlns:stream=http://etherx.jabber.org/streams", "xmlns=jabber:client", "from=almacska", "id=1b3a6b",
    "xml:lang=en", "version=1.0",
  ]);
  assert.deepEqual(list[7], {
    kind: "ELEMENT_START", level: 1, name: "stream:features", prefixLength: 6,
    ns: "http://etherx.jabber.org/streams", attributeCount: 0,
  });
  const mechanisms = list.find((e) => e.name === "mechanisms" && e.kind === "ELEMENT_START")!;
  assert.equal(mechanisms.ns, "urn:ietf:params:xml:ns:xmpp-sasl");
  assert.equal(mechanisms.level, 2);
  assert.deepEqual(list.filter((e) => e.kind === "TEXT").map((e) => e.value), ["DIGEST-MD5", "PLAIN", "ANONYMOUS", "CRAM-MD5", "zlib"]);
  const method = list.find((e) => e.name === "method")!;
  assert.equal(method.ns, "http://jabber.org/features/compress", "default namespace in scope");
  assert.deepEqual(list.at(-1), { kind: "ELEMENT_END", level: 1, name: "stream:features", ns: "http://etherx.jabber.org/streams" });
});

test("every server message of the seed, split at every byte position, gives identical events", () => {
  let splits = 0;
  for (const connection of seedConnections()) {
    const whole = events(Buffer.concat(connection.wire));
    assert.ok(whole.length > 10);
    connection.wire.forEach((message, index) => {
      const before = Buffer.concat(connection.wire.slice(0, index));
      const after = Buffer.concat(connection.wire.slice(index + 1));
      for (let cut = 0; cut <= message.length; cut++) {
        const result = tokenize(core, [before, message.subarray(0, cut), message.subarray(cut), after]);
        assert.equal(result.error, undefined);
        assert.deepEqual(result.events, whole, `message ${index + 1}, cut at ${cut}`);
        splits++;
      }
    });
    // And one byte at a time.
    const bytes = Buffer.concat(connection.wire);
    const single = tokenize(core, Array.from(bytes, (b) => Uint8Array.of(b)));
    assert.deepEqual(single.events, whole);
  }
  assert.ok(splits > 1500, `${splits} splits`);
});

test("the pretty-printed register form, as the capture shows it, keeps its whitespace as text", () => {
  const form = seedConnections()[1]!.blocks[1]!.lines.join("\n");
  const list = events(HEADER + form);
  const texts = list.filter((e) => e.kind === "TEXT");
  assert.ok(texts.some((e) => /^\n\t+$/.test(e.value!)));
  assert.ok(texts.some((e) => e.value === "XMPP Client Registration"));
});

test("splits inside multi-byte UTF-8, entities, CDATA and attribute values give identical events", () => {
  const input = Buffer.from(
    HEADER + "<message to='r@d/idle' a=\"x&amp;y &#233;\" b=\"it's #1, disco#info\" c='say \"hi\" &amp; #2'><body>caf\u00e9 \u{1F407} &lt;&gt;&apos;&quot;&#x10FFFF;<![CDATA[a<b&c]]]>d\r\ne\rf</body></message>",
  );
  const whole = events(input);
  const body = whole.find((e) => e.kind === "TEXT")!;
  assert.equal(body.value, "caf\u00e9 \u{1F407} <>'\"\u{10FFFF}a<b&c]d\ne\nf");
  assert.equal(whole.find((e) => e.name === "a")!.value, "x&y \u00e9");
  assert.equal(whole.find((e) => e.name === "b")!.value, "it's #1, disco#info");
  assert.equal(whole.find((e) => e.name === "c")!.value, 'say "hi" & #2');
  for (let cut = 0; cut <= input.length; cut++) {
    const result = tokenize(core, [input.subarray(0, cut), input.subarray(cut)]);
    assert.deepEqual(result.events, whole, `cut at ${cut}`);
  }
});

test("end tags split anywhere give the same events or the same error as whole", () => {
  const bad = (tail: number[]) => Buffer.concat([Buffer.from(HEADER + "<message><body>x</body></message"), Buffer.from(tail), Buffer.from(">")]);
  const cases: [Buffer, string | undefined][] = [
    [Buffer.from(HEADER + "<message><body>x</body  ></message>"), undefined],
    [Buffer.from(HEADER + "<message><body>x</bodx></message>"), "mismatched tag"],
    [Buffer.from(HEADER + "<message><body>x</bodyy></message>"), "mismatched tag"],
    [Buffer.from(HEADER + "<message><body>x</bod></message>"), "mismatched tag"],
    [Buffer.from(HEADER + "<message><body>x</body y></message>"), "malformed"],
    [bad([0xc3, 0xa9]), "mismatched tag"],
    [bad([0xc3, 0x28]), "invalid UTF-8"],
    [bad([0xe2, 0x82]), "invalid UTF-8"],
  ];
  for (const [input, expected] of cases) {
    const whole = tokenize(core, [input]);
    assert.equal(whole.error, expected, input.toString("latin1").slice(HEADER.length));
    for (let cut = HEADER.length; cut <= input.length; cut++) {
      for (const c of [core, release]) {
        const split = tokenize(c, [input.subarray(0, cut), input.subarray(cut)]);
        assert.equal(split.error, expected, `cut at ${cut}`);
        assert.deepEqual(split.events, whole.events, `cut at ${cut}`);
      }
    }
  }
});

test("a chunk must end 8 bytes before the end of memory: -2 and nothing taken otherwise", () => {
  const e = release.exports;
  const end = e.memory.buffer.byteLength;
  e.xml_reset();
  assert.equal(e.xml_feed(end - 4, 4), -2);
  assert.equal(e.xml_feed(end - 8, 1), -2);
  assert.equal(e.xml_feed(release.input, -1), -2);
  assert.equal(e.xml_next(), 0, "nothing was taken");
  release.bytes.set(Buffer.from("<a>"), end - 11);
  assert.equal(e.xml_feed(end - 11, 3), 0, "a chunk that ends 8 bytes before the end is fine");
  assert.equal(e.xml_next(), 1);
  assert.equal(errorOf(HEADER + "<m a='1'>ok</m>", release), undefined);
});

test("namespaces: prefixed names, declarations scoped to their element", () => {
  const list = events(
    HEADER + "<iq><q xmlns='a'><x:r xmlns:x='b'><s/></x:r><t/></q><u/></iq>",
  );
  const ns = Object.fromEntries(list.filter((e) => e.kind === "ELEMENT_START").map((e) => [e.name, e.ns]));
  assert.deepEqual(ns, { iq: "jabber:client", q: "a", "x:r": "b", s: "a", t: "a", u: "jabber:client" });
  assert.equal(list.find((e) => e.name === "x:r")!.prefixLength, 1);
});

test("whitespace between stanzas is skipped; stream end is reported", () => {
  const list = events(HEADER + " \n\t<a/>\r\n  <b></b> </stream:stream>");
  assert.deepEqual(list.filter((e) => e.kind !== "ATTRIBUTE").map((e) => `${e.kind}:${e.name ?? ""}`), [
    "STREAM_START:stream:stream", "ELEMENT_START:a", "ELEMENT_END:a", "ELEMENT_START:b", "ELEMENT_END:b", "STREAM_END:stream:stream",
  ]);
});

test("attribute values are normalized: tab and line ends become spaces, references are kept", () => {
  const list = events(HEADER + "<a v='1\t2\r\n3\n4&#10;5'/>");
  assert.equal(list.find((e) => e.kind === "ATTRIBUTE" && e.name === "v")!.value, "1 2 3 4\n5");
});

test("malformed inputs each give their own error code, never a trap, and reset recovers", () => {
  const deep = HEADER + "<a>".repeat(10_000);
  const cases: [string, string | Uint8Array][] = [
    ["mismatched tag", HEADER + "<iq><query></iq>"],
    ["mismatched tag", HEADER + "</iq>"],
    ["unquoted attribute", HEADER + "<iq type=result/>"],
    ["'<' in attribute value", HEADER + "<iq id='a<b'/>"],
    ["bad character reference", HEADER + "<m>&#0;</m>"],
    ["bad character reference", HEADER + "<m>&#xD800;</m>"],
    ["bad character reference", HEADER + "<m>&#x110000;</m>"],
    ["bad character reference", HEADER + "<m>&#12a;</m>"],
    ["bad character reference", HEADER + "<m>&#;</m>"],
    ["bad entity", HEADER + "<m>&amp</m>"],
    ["bad entity", HEADER + "<m>&am p;</m>"],
    ["unknown entity", HEADER + "<m>&nbsp;</m>"],
    ["too deep", deep],
    ["text too long", HEADER + "<m>" + "x".repeat(1 << 20) + "</m>"],
    ["invalid UTF-8", Buffer.concat([Buffer.from(HEADER + "<m>"), Buffer.from([0xc3, 0x28]), Buffer.from("</m>")])],
    ["invalid UTF-8", Buffer.concat([Buffer.from(HEADER + "<m>"), Buffer.from([0xc0, 0xaf]), Buffer.from("</m>")])],
    ["invalid UTF-8", Buffer.concat([Buffer.from(HEADER + "<m>"), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from("</m>")])],
    ["invalid UTF-8", Buffer.concat([Buffer.from(HEADER + "<m>"), Buffer.from([0xf5, 0x80, 0x80, 0x80]), Buffer.from("</m>")])],
    ["invalid UTF-8", Buffer.concat([Buffer.from(HEADER + "<m a='"), Buffer.from([0x80]), Buffer.from("'/>")])],
    ["invalid character", Buffer.concat([Buffer.from(HEADER + "<m>"), Buffer.from([0]), Buffer.from("</m>")])],
    ["invalid character", Buffer.concat([Buffer.from(HEADER + "<m a='"), Buffer.from([0]), Buffer.from("'/>")])],
    ["invalid character", HEADER + "<m>\u0001</m>"],
    ["DOCTYPE", "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e 'boom'>]><stream:stream/>"],
    ["comment", HEADER + "<m><!-- hi --></m>"],
    ["processing instruction", HEADER + "<m><?php x ?></m>"],
    ["processing instruction", " <?xml version='1.0'?><stream:stream/>"],
    ["name too long", HEADER + "<" + "n".repeat(129) + "/>"],
    ["too many attributes", HEADER + "<m " + Array.from({ length: 25 }, (_, i) => `a${i}='1'`).join(" ") + "/>"],
    ["attribute value too long", HEADER + "<m a='" + "v".repeat(2049) + "'/>"],
    ["duplicate attribute", HEADER + "<m a='1' a='2'/>"],
    ["unbound prefix", HEADER + "<x:m/>"],
    ["text outside a stanza", HEADER + "hello<m/>"],
    ["']]>' in text", HEADER + "<m>a]]>b</m>"],
    ["malformed", HEADER + "<m a='1'b='2'/>"],
    ["malformed", HEADER + "< m/>"],
    ["malformed", HEADER + "<m/ >"],
    ["malformed", HEADER + "<m a></m>"],
  ];
  for (const [expected, input] of cases) {
    for (const c of [core, release, coreOnly]) {
      assert.equal(errorOf(input, c), expected, `${String(input).slice(HEADER.length, HEADER.length + 40)}`);
      // The error is sticky until reset...
      assert.equal(c.exports.xml_next(), XML_ERROR_CODES[expected]);
      // ...and after reset a good stream parses again.
      assert.equal(errorOf(HEADER + "<m a='1'>ok</m>", c), undefined);
    }
  }
});

test("an error is also found when the bad input is split across chunks", () => {
  const input = Buffer.concat([Buffer.from(HEADER + "<m>ab"), Buffer.from([0xe2, 0x82]), Buffer.from("x</m>")]);
  for (let cut = 0; cut <= input.length; cut++) {
    assert.equal(tokenize(core, [input.subarray(0, cut), input.subarray(cut)]).error, "invalid UTF-8", `cut ${cut}`);
  }
});

test("100,000 random and mutated inputs never trap", () => {
  const random = seededRandom(4);
  const corpus = seedConnections().flatMap((c) => c.wire);
  const e = release.exports;
  let errors = 0;
  for (let round = 0; round < 100_000; round++) {
    let input: Uint8Array;
    const base = Buffer.concat([corpus[0]!, corpus[randomInt(random, corpus.length)]!]);
    const choice = randomInt(random, 4);
    if (choice === 0) {
      input = randomBytes(random, randomInt(random, 200));
    } else {
      const mutated = Buffer.from(base);
      const flips = 1 + randomInt(random, 8);
      for (let i = 0; i < flips; i++) {
        const at = randomInt(random, mutated.length);
        if (choice === 1) mutated[at] = randomInt(random, 256);
        else if (choice === 2) mutated[at] = SPECIAL[randomInt(random, SPECIAL.length)]!;
        else mutated[at] = mutated[randomInt(random, mutated.length)]!;
      }
      input = mutated.subarray(0, randomInt(random, mutated.length + 1));
    }
    e.xml_reset();
    for (let at = 0; at < input.length; ) {
      const size = 1 + randomInt(random, 64);
      const piece = input.subarray(at, at + size);
      at += size;
      e.xml_feed(release.put(piece), piece.length);
      const result = e.xml_drain();
      if (result < 0) {
        assert.ok(result in (XML_ERRORS_BY_CODE), `unknown result ${result}`);
        errors++;
        break;
      }
    }
  }
  assert.ok(errors > 1000, `${errors} inputs rejected`);
});

/** Bytes that matter to the tokenizer, for targeted mutations. */
const SPECIAL = Buffer.from("<>/='\"&;![]?- \n\0\xff", "latin1");

const XML_ERRORS_BY_CODE = Object.fromEntries(Object.entries(XML_ERROR_CODES).map(([name, code]) => [code, name]));

test("one limit on a tag's size, the same result and error code whole and at every split (4 KiB window)", () => {
  const attribute = (length: number) => `<iq a='${"v".repeat(2000)}' b='${"w".repeat(2000)}' c='${"x".repeat(length)}'/>`;
  const cases: { name: string; stanza: string }[] = [
    { name: "just fits", stanza: attribute(4096 - attribute(0).length) },
    { name: "one byte too large", stanza: attribute(4097 - attribute(0).length) },
    { name: "much too large", stanza: attribute(3000) },
    { name: "an error early in a too-large tag", stanza: `<iq a='<' b='${"1".repeat(2000)}' c='${"2".repeat(2000)}' d='${"3".repeat(500)}'/>` },
    { name: "an error late in a too-large tag", stanza: `<iq b='${"1".repeat(1500)}' c='${"2".repeat(1500)}' d='${"3".repeat(1500)}' e='<'/>` },
    { name: "'>' inside values across the window", stanza: `<iq a='${">".repeat(2000)}' b='${">".repeat(2000)}' c='${">".repeat(200)}'/>` },
    { name: "an error just inside the window, the '>' beyond it", stanza: `<iq a='${"v".repeat(2040)}' b='${"w".repeat(2000)}' c="x<${"y".repeat(100)}"/>` },
  ];
  for (const { name, stanza } of cases) {
    const input = Buffer.from(HEADER + stanza);
    const whole = tokenize(core, [input]);
    const cuts = new Set<number>();
    for (let cut = HEADER.length; cut <= input.length; cut += 37) cuts.add(cut);
    for (let cut = input.length - 200; cut <= input.length; cut++) cuts.add(cut);
    for (let cut = HEADER.length; cut < HEADER.length + 80; cut++) cuts.add(cut);
    for (const cut of cuts) {
      const split = tokenize(core, [input.subarray(0, cut), input.subarray(cut)]);
      assert.equal(split.error, whole.error, `${name}: cut at ${cut}`);
      assert.deepEqual(split.events, whole.events, `${name}: cut at ${cut}`);
    }
    const single = tokenize(core, [input.subarray(0, HEADER.length), ...Array.from(input.subarray(HEADER.length), (b) => Uint8Array.of(b))]);
    assert.equal(single.error, whole.error, `${name}: one byte at a time`);
    assert.deepEqual(single.events, whole.events, `${name}: one byte at a time`);
  }
  assert.equal(tokenize(core, [Buffer.from(HEADER + cases[0]!.stanza)]).error, undefined, "a 4096-byte tag is taken");
  for (const name of ["one byte too large", "much too large", "an error late in a too-large tag", "'>' inside values across the window"]) {
    assert.equal(tokenize(core, [Buffer.from(HEADER + cases.find((c) => c.name === name)!.stanza)]).error, "start tag too large", name);
  }
  assert.equal(tokenize(core, [Buffer.from(HEADER + cases[3]!.stanza)]).error, "'<' in attribute value", "an error inside the window is itself");
});

test("an attribute value of XML_ATTR_VALUE_MAX (2048) bytes is taken, one more is refused, whole and split", () => {
  const stanza = (length: number) => Buffer.from(`${HEADER}<iq id='${"v".repeat(length)}'/>`);
  for (const [length, error] of [[2048, undefined], [2049, "attribute value too long"]] as const) {
    const input = stanza(length);
    assert.equal(tokenize(core, [input]).error, error, `${length} whole`);
    assert.equal(tokenize(core, [input.subarray(0, HEADER.length + 900), input.subarray(HEADER.length + 900)]).error, error, `${length} split`);
    if (error === undefined) {
      const value = tokenize(core, [input]).events.filter((e) => e.kind === "ATTRIBUTE" && e.name === "id").at(-1)?.value;
      assert.equal(value?.length, 2048);
    }
  }
});

test("nesting: 32 levels with the stream taken, one more refused (XML_DEPTH_MAX), whole and split", () => {
  const nested = (levels: number) => HEADER + "<a>".repeat(levels - 1) + "</a>".repeat(levels - 1);
  for (const c of [core, release, coreOnly]) {
    assert.equal(errorOf(nested(32), c), undefined);
    assert.equal(errorOf(nested(33), c), "too deep");
    const input = Buffer.from(nested(33));
    for (const cut of [HEADER.length + 93, HEADER.length + 95]) {
      assert.equal(tokenize(c, [input.subarray(0, cut), input.subarray(cut)]).error, "too deep", `cut at ${cut}`);
    }
  }
});

test("an end tag differing by a bad UTF-8 byte in a long name: the same error whole and cut anywhere (fuzz finding)", () => {
  const input = Buffer.concat([Buffer.from(HEADER + "<s><mechanism>D</"), Buffer.from([0xc8]), Buffer.from("mmmmmmmm>")]);
  for (const c of [core, release, coreOnly]) {
    const whole = tokenize(c, [input]).error;
    assert.equal(whole, "invalid UTF-8");
    for (let cut = HEADER.length; cut < input.length; cut++) {
      assert.equal(tokenize(c, [input.subarray(0, cut), input.subarray(cut)]).error, whole, `cut at ${cut - HEADER.length}`);
    }
  }
});
