// SCRAM-SHA-1 (RFC 5802) and PLAIN (RFC 4616) in the module, and how the rabbit picks a mechanism. The server side
// here is written with node:crypto, independently of the module.

import assert from "node:assert/strict";
import { createHash, createHmac, pbkdf2Sync } from "node:crypto";
import { test } from "node:test";
import { Core } from "../host/core.js";
import { maskSecrets } from "../host/observe.js";
import type { Profile } from "../host/quirks.js";
import type { SaslMechanism } from "../host/rabbit.js";
import { base64, MAC, ScriptedServer, unbase64, virtualRabbit, type Step } from "./harness.js";

const SCRAM_ERRORS = { syntax: -1, nonce: -2, salt: -3, iterations: -4, extension: -5, tooLong: -6, serverError: -7, signature: -8, order: -9 };

/** A module whose random source gives `bytes` (then zeros), its UART lines collected. */
function scramCore(bytes: Uint8Array) {
  const lines: string[] = [];
  const core = Core.load({
    randomBytes: (length) => {
      const out = new Uint8Array(length);
      out.set(bytes.subarray(0, length));
      return out;
    },
    uartWrite: (data) => lines.push(...Buffer.from(data).toString("latin1").split("\n").filter(Boolean)),
  }, "debug");
  const text = (pointer: number, length: number) => Buffer.from(core.read(pointer, length)).toString("latin1");
  return {
    lines,
    first(user: string): string {
      core.put(Buffer.from(user, "latin1"));
      const length = core.exports.test_scram_first(user.length);
      assert.ok(length > 0, `client-first: ${length}`);
      return text(core.output, length);
    },
    final(serverFirst: string, password: string): string | number {
      const first = Buffer.from(serverFirst, "latin1");
      core.put(first);
      core.put(Buffer.from(password, "latin1"), first.length);
      const length = core.exports.test_scram_final(first.length, first.length, password.length);
      return length < 0 ? length : text(core.output, length);
    },
    verify(serverFinal: string): number {
      const data = Buffer.from(serverFinal, "latin1");
      core.put(data);
      return core.exports.test_scram_verify(data.length);
    },
  };
}

test("scram: RFC 5802's example (user 'user', password 'pencil') gives its messages exactly", () => {
  const scram = scramCore(Buffer.from("fyko+d2lbbFgONRv9qkxdawL", "base64"));
  assert.equal(scram.first("user"), "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
  assert.equal(
    scram.final("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096", "pencil"),
    "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
  );
  assert.equal(scram.verify("v=rmF9pqV8S7suAoZWja4dJRkFsKQ="), 0);
  assert.deepEqual(scram.lines, []);
});

test("scram: a wrong server signature, an e= answer or a step out of order fails, and says so", () => {
  const nonce = Buffer.from("fyko+d2lbbFgONRv9qkxdawL", "base64");
  const serverFirst = "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096";
  const cases: [string, number, string][] = [
    ["v=rmF9pqV8S7suAoZWja4dJRkFsKA=", SCRAM_ERRORS.signature, "SCRAM: wrong server signature: the server does not know the password"],
    ["v=rmF9pqV8S7suAoZWja4dJRkF", SCRAM_ERRORS.signature, "SCRAM: wrong server signature: the server does not know the password"],
    ["e=invalid-proof", SCRAM_ERRORS.serverError, "SCRAM: the server refused the proof"],
    ["x=1", SCRAM_ERRORS.syntax, "SCRAM: the server's message is not SCRAM"],
  ];
  for (const [serverFinal, code, line] of cases) {
    const scram = scramCore(nonce);
    scram.first("user");
    assert.equal(typeof scram.final(serverFirst, "pencil"), "string");
    assert.equal(scram.verify(serverFinal), code, serverFinal);
    assert.deepEqual(scram.lines, [line], serverFinal);
    // The exchange is forgotten: checking again is out of order.
    assert.equal(scram.verify("v=rmF9pqV8S7suAoZWja4dJRkFsKQ="), SCRAM_ERRORS.order);
  }
});

test("scram: saslname escaping of '=' and ','", () => {
  const scram = scramCore(new Uint8Array(18));
  assert.equal(scram.first("a=b,c"), "n,,n=a=3Db=2Cc,r=AAAAAAAAAAAAAAAAAAAAAAAA");
});

test("scram: bad server-first messages are refused with their own reasons", () => {
  const ours = "fyko+d2lbbFgONRv9qkxdawL";
  const cases: [string, number][] = [
    [`r=${ours}x,s=QSXCR+Q6sek8bf92,i=4096,ext=1`, 0], // extensions after i= are allowed
    [`r=${ours},s=QSXCR+Q6sek8bf92,i=4096`, SCRAM_ERRORS.nonce], // the server added nothing
    [`r=fyko+d2lbbFgONRv9qkxdawX3rfc,s=QSXCR+Q6sek8bf92,i=4096`, SCRAM_ERRORS.nonce],
    [`r=${ours}3r\x01,s=QSXCR+Q6sek8bf92,i=4096`, SCRAM_ERRORS.nonce],
    [`m=ext,r=${ours}3rfc,s=QSXCR+Q6sek8bf92,i=4096`, SCRAM_ERRORS.extension],
    [`r=${ours}3rfc,s=QSXCR+Q6sek8bf9,i=4096`, SCRAM_ERRORS.salt],
    [`r=${ours}3rfc,s=,i=4096`, SCRAM_ERRORS.salt],
    [`r=${ours}3rfc,s=QSXCR+Q6sek8bf92,i=0`, SCRAM_ERRORS.iterations],
    [`r=${ours}3rfc,s=QSXCR+Q6sek8bf92,i=100001`, SCRAM_ERRORS.iterations],
    [`r=${ours}3rfc,s=QSXCR+Q6sek8bf92,i=4k`, SCRAM_ERRORS.iterations],
    [`r=${ours}3rfc,s=QSXCR+Q6sek8bf92`, SCRAM_ERRORS.syntax],
    [`s=QSXCR+Q6sek8bf92,r=${ours}3rfc,i=4096`, SCRAM_ERRORS.syntax],
    [`r=${ours}3rfc,s=QSXCR+Q6sek8bf92,i=4096,${"x".repeat(1100)}`, SCRAM_ERRORS.tooLong],
  ];
  for (const [serverFirst, code] of cases) {
    const scram = scramCore(Buffer.from(ours, "base64"));
    scram.first("user");
    const result = scram.final(serverFirst, "pencil");
    if (code === 0) assert.equal(typeof result, "string", serverFirst);
    else {
      assert.equal(result, code, serverFirst);
      assert.equal(scram.lines.length, 1, serverFirst);
      assert.match(scram.lines[0]!, /^SCRAM: /);
    }
  }
});

// ---------------------------------------------------------------------------------------------------------------------
// The rabbit with a scripted server

const PASSWORD = "1a2b3c4d5e6f";
const HEADER = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='1' from='almacska' version='1.0'>";
const STREAM_HEADER = /^<\?xml version='1\.0' encoding='UTF-8'\?>\n<stream:stream to='almacska'/;
const POST_AUTH = "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>";
const SASL = "xmlns='urn:ietf:params:xml:ns:xmpp-sasl'";
const features = (mechanisms: string[]) =>
  `<stream:features><mechanisms ${SASL}>${mechanisms.map((m) => `<mechanism>${m}</mechanism>`).join("")}</mechanisms></stream:features>`;

interface ScramServerOptions {
  /** Send a server signature that does not match. */
  wrongSignature?: boolean;
  /** Send server-final in a <challenge> (then an empty <success/>) instead of inside <success>. */
  finalInChallenge?: boolean;
}

/** A SCRAM-SHA-1 server for PASSWORD, on node:crypto: checks the client's proof, sends its signature. */
function scramSteps(options: ScramServerOptions = {}): Step[] {
  const salt = Buffer.from("salt-of-the-test");
  const iterations = 4096;
  let clientFirstBare = "";
  let serverFirst = "";
  let nonce = "";
  const steps: Step[] = [
    {
      label: "client-first",
      expect: new RegExp(`^<auth ${SASL} mechanism='SCRAM-SHA-1'>([A-Za-z0-9+/]+={0,2})</auth>$`),
      reply: (_stanza, match) => {
        const first = unbase64(match[1]!);
        const parsed = /^n,,n=([^,]+),r=([A-Za-z0-9+/]{24})$/.exec(first);
        assert.ok(parsed, `client-first: ${first}`);
        assert.equal(parsed[1], MAC);
        clientFirstBare = first.slice(3);
        nonce = `${parsed[2]}server-part`;
        serverFirst = `r=${nonce},s=${salt.toString("base64")},i=${iterations}`;
        return `<challenge ${SASL}>${base64(serverFirst)}</challenge>`;
      },
    },
    {
      label: "client-final",
      expect: new RegExp(`^<response ${SASL}>([A-Za-z0-9+/]+={0,2})</response>$`),
      reply: (_stanza, match) => {
        const final = unbase64(match[1]!);
        const parsed = /^(c=biws,r=([^,]+)),p=([A-Za-z0-9+/=]+)$/.exec(final);
        assert.ok(parsed, `client-final: ${final}`);
        assert.equal(parsed[2], nonce);
        const authMessage = `${clientFirstBare},${serverFirst},${parsed[1]}`;
        const salted = pbkdf2Sync(PASSWORD, salt, iterations, 20, "sha1");
        const clientKey = createHmac("sha1", salted).update("Client Key").digest();
        const clientSignature = createHmac("sha1", createHash("sha1").update(clientKey).digest()).update(authMessage).digest();
        const proof = Buffer.from(clientKey.map((b, i) => b ^ clientSignature[i]!)).toString("base64");
        if (parsed[3] !== proof) return `<failure ${SASL}><not-authorized/></failure>`;
        const signature = createHmac("sha1", createHmac("sha1", salted).update("Server Key").digest()).update(authMessage).digest();
        if (options.wrongSignature) signature[0]! ^= 1;
        const serverFinal = base64(`v=${signature.toString("base64")}`);
        return options.finalInChallenge ? `<challenge ${SASL}>${serverFinal}</challenge>` : `<success ${SASL}>${serverFinal}</success>`;
      },
    },
  ];
  if (options.finalInChallenge) steps.push({ label: "empty response", expect: new RegExp(`^<response ${SASL}/>$`), reply: `<success ${SASL}/>` });
  return steps;
}

const restartAndBind: Step[] = [
  { label: "restart", expect: STREAM_HEADER, reply: HEADER + POST_AUTH },
  { label: "bind", expect: /^<iq type='set' id='1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>boot<\/resource><\/bind><\/iq>$/ },
];

function login(steps: Step[], options: { profile?: Profile; sasl?: SaslMechanism } = {}) {
  const rabbit = virtualRabbit({ profile: options.profile ?? "standard", sasl: options.sasl, password: PASSWORD });
  const server = new ScriptedServer(rabbit.network, steps);
  rabbit.rabbit.start();
  rabbit.run(60_000, () => server.done || server.failures.length > 0);
  assert.deepEqual(server.failures, []);
  assert.ok(server.done, `the script stopped at ${server.position}`);
  return { ...rabbit, server };
}

const header = (mechanisms: string[]): Step => ({ label: "header", expect: STREAM_HEADER, reply: HEADER + features(mechanisms) });

test("standard: SCRAM-SHA-1 chosen over DIGEST-MD5 and PLAIN; the proof checks out and the server signature is verified", () => {
  const { recorded, rabbit } = login([header(["PLAIN", "DIGEST-MD5", "SCRAM-SHA-256", "SCRAM-SHA-1"]), ...scramSteps(), ...restartAndBind]);
  assert.ok(recorded.uart.includes("SASL mechanism: SCRAM-SHA-1"));
  assert.ok(recorded.uart.includes("rcv success, snd reopen stream"));
  assert.equal(rabbit.status, "loggedin");
});

test("standard: server-final in a challenge, answered with an empty response, then success", () => {
  const { recorded } = login([header(["SCRAM-SHA-1"]), ...scramSteps({ finalInChallenge: true }), ...restartAndBind]);
  assert.ok(recorded.uart.includes("rcv success, snd reopen stream"));
});

test("standard: a wrong server signature in <success> is a failed login: logged, reported, the stream closed", () => {
  const { recorded, rabbit, server, run } = login([header(["SCRAM-SHA-1"]), ...scramSteps({ wrongSignature: true }), { label: "close", expect: /^<\/stream:stream>$/ }]);
  assert.ok(recorded.uart.includes("SCRAM: wrong server signature: the server does not know the password"), recorded.uart.join("\n"));
  assert.ok(recorded.uart.includes("BAD server signature"));
  assert.ok(!recorded.uart.includes("rcv success, snd reopen stream"));
  assert.deepEqual(recorded.reports.filter((r) => r.kind === "error").map((r) => r.text), ["wrong server signature in success"]);
  assert.equal(rabbit.status, "closed");
  assert.equal(server.received.length, 1);
  // And it tries again later, from the start.
  run(40_000, () => server.received.length > 1);
  assert.equal(server.received.length, 2);
});

test("standard: a wrong server signature in a challenge is answered with <abort/>, and the server's answer to it is not a refused login", () => {
  const steps = scramSteps({ wrongSignature: true, finalInChallenge: true });
  steps[steps.length - 1] = { label: "abort", expect: new RegExp(`^<abort ${SASL}/>$`), reply: `<failure ${SASL}><aborted/></failure>` };
  const { recorded, run } = login([header(["SCRAM-SHA-1"]), ...steps]);
  run(1000);
  assert.ok(recorded.uart.includes("BAD server signature"));
  // The <failure> answers the abort: the server, not the password, failed; no FailureLogin, no re-registration.
  assert.ok(!recorded.http.some((url) => url.includes("r=FailureLogin")));
  assert.ok(recorded.reports.some((r) => r.kind === "error" && r.text === "login aborted: the server's proof was wrong"));
});

test("standard: PLAIN when it is all that is offered; DIGEST-MD5 before PLAIN", () => {
  const plain = `\0${MAC}\0${PASSWORD}`;
  login([header(["X-OAUTH2", "PLAIN"]), { label: "plain", expect: new RegExp(`^<auth ${SASL} mechanism='PLAIN'>${base64(plain).replace(/[+/]/g, "\\$&")}</auth>$`), reply: `<success ${SASL}/>` }, ...restartAndBind]);
  login([header(["PLAIN", "DIGEST-MD5"]), { label: "digest", expect: new RegExp(`^<auth ${SASL} mechanism='DIGEST-MD5'/>$`) }]);
});

test("standard: nothing usable offered: a clear error, no <auth>", () => {
  const { recorded, server, run } = login([header(["X-OAUTH2", "SCRAM-SHA-256"])]);
  run(1000);
  assert.ok(recorded.uart.includes("No SASL mechanism this rabbit can use is offered"));
  assert.deepEqual(recorded.reports.filter((r) => r.kind === "error").map((r) => r.text), ["no usable SASL mechanism offered"]);
  assert.ok(!server.received[0]!.some((stanza) => stanza.startsWith("<auth")));
});

test("firmware: DIGEST-MD5 whatever is offered; --sasl forces a mechanism in either profile", () => {
  login([header(["SCRAM-SHA-1"]), { label: "digest anyway", expect: new RegExp(`^<auth ${SASL} mechanism='DIGEST-MD5'/>$`) }], { profile: "firmware" });
  login([header(["DIGEST-MD5"]), { label: "forced PLAIN", expect: new RegExp(`^<auth ${SASL} mechanism='PLAIN'>`) }], { sasl: "PLAIN" });
  login([header(["SCRAM-SHA-1"]), { label: "forced DIGEST-MD5", expect: new RegExp(`^<auth ${SASL} mechanism='DIGEST-MD5'/>$`) }], { sasl: "DIGEST-MD5" });
  const { recorded } = login([header(["DIGEST-MD5"]), ...scramSteps(), restartAndBind[0]!], { profile: "firmware", sasl: "SCRAM-SHA-1" });
  assert.ok(recorded.uart.includes("rcv success, snd reopen stream"));
});

test("standard: each login draws a fresh client nonce", () => {
  const auth = new RegExp(`^<auth ${SASL} mechanism='SCRAM-SHA-1'>`);
  // The server hangs up after the first client-first; the rabbit comes back after its delay and starts again.
  const { server } = login([header(["SCRAM-SHA-1"]), { label: "first try", expect: auth, close: true }, header(["SCRAM-SHA-1"]), { label: "second try", expect: auth }]);
  const nonces = server.received.map((stanzas) => unbase64(/>([^<]+)</.exec(stanzas.find((stanza) => auth.test(stanza))!)![1]!).split(",r=")[1]);
  assert.equal(nonces.length, 2);
  assert.notEqual(nonces[0], nonces[1]);
});

test("PLAIN's <auth> is masked in the host's output, as the password is", () => {
  const auth = `<auth ${SASL} mechanism='PLAIN'>${base64(`\0${MAC}\0${PASSWORD}`)}</auth>`;
  const masked = maskSecrets(`[tcp] #1 >> ${auth}`, [PASSWORD]);
  assert.ok(!masked.includes(base64(`\0${MAC}\0${PASSWORD}`)));
  assert.match(masked, /mechanism='PLAIN'>\*+<\/auth>$/);
});
