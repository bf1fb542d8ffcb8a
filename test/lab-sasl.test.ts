// The tolerant lab's SASL mechanisms beside DIGEST-MD5 (host/lab/sasl.ts): SCRAM-SHA-1 (RFC 5802) and PLAIN
// (RFC 4616), opt-in. Rabbits log in with them on virtual time; a hostile client (RFC 5802's side written here on
// node:crypto, not the lab's) gets the right failure and never a crash; xmpp.js, a standard client, gets online with
// either, alone and twenty at once through test/bench/xmppjs-logins.ts; `nabaztag-vm lab --mechanisms` offers them.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash, createHmac, pbkdf2Sync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { client } from "@xmpp/client";
import { Accounts } from "../host/lab/accounts.js";
import { startLab } from "../host/lab/lab.js";
import { rebootPacket } from "../host/lab/packets.js";
import { LAB_SASL_BASE64_CHARS_MAX, LAB_SASL_USERNAME_CHARS_MAX, LAB_SCRAM_CLIENT_NONCE_CHARS_MAX, LAB_SCRAM_ITERATIONS, LAB_STANZA_BYTES_MAX } from "../host/lab/limits.js";
import type { LabSaslMechanism } from "../host/lab/sasl.js";
import { LabXmppServer, type LabEvent } from "../host/lab/xmpp-server.js";
import type { Profile } from "../host/quirks.js";
import type { SaslMechanism } from "../host/rabbit.js";
import { ROOT } from "./helpers.js";
import { labWorld, type LabWorld, type WorldRabbit } from "./lab-world.js";

const MAC = "0019db01dbd7";
/** What a firmware rabbit registers (its password XORed with its MAC); the lab keeps both forms. */
const SENT = "00112233aabb";
const DOMAIN = "lab";
const NS = "urn:ietf:params:xml:ns:xmpp-sasl";
const ALL: LabSaslMechanism[] = ["SCRAM-SHA-1", "DIGEST-MD5", "PLAIN"];
const b64 = (text: string | Buffer) => Buffer.from(text).toString("base64");

function online(rabbit: WorldRabbit): boolean {
  return rabbit.reports.some((report) => report.kind === "online") && rabbit.rabbit.state === "ssFree";
}

function labEvents(world: LabWorld, type: string): Record<string, unknown>[] {
  return world.events.filter((event) => event.type === type) as unknown as Record<string, unknown>[];
}

/** A rabbit against the tolerant lab offering `mechanisms`, run until online (or 120 s). */
function rabbitOnline(mechanisms: LabSaslMechanism[], profile: Profile, sasl?: SaslMechanism) {
  const world = labWorld("tolerant", { mechanisms });
  const rabbit = world.addRabbit({ mac: MAC, profile, sasl });
  world.run(120_000, () => online(rabbit));
  assert.ok(online(rabbit), `not online: ${rabbit.uart.slice(-6).join(" | ")}; lab: ${JSON.stringify(world.events.slice(-4))}`);
  return { world, rabbit };
}

test("the lab's offer: DIGEST-MD5 alone unless told, else the mechanisms in the order given", () => {
  const plain = labWorld("tolerant");
  const firmware = plain.addRabbit({ mac: MAC });
  plain.run(60_000, () => online(firmware));
  assert.ok(firmware.received.some((r) => r.includes(`<mechanisms xmlns='${NS}'><mechanism>DIGEST-MD5</mechanism></mechanisms>`)), "the default");
  assert.deepEqual(labEvents(plain, "login").map((e) => e.mechanism), ["DIGEST-MD5"]);
  const ordered = labWorld("tolerant", { mechanisms: ["PLAIN", "SCRAM-SHA-1"] });
  const standard = ordered.addRabbit({ mac: MAC, profile: "standard" });
  ordered.run(60_000, () => online(standard));
  assert.ok(standard.received.some((r) => r.includes(`<mechanisms xmlns='${NS}'><mechanism>PLAIN</mechanism><mechanism>SCRAM-SHA-1</mechanism></mechanisms>`)));
  assert.throws(() => new LabXmppServer({ domain: DOMAIN, accounts: new Accounts(), mechanisms: ["CRAM-MD5" as LabSaslMechanism] }), /not one of SCRAM-SHA-1, DIGEST-MD5, PLAIN/);
  assert.throws(() => new LabXmppServer({ domain: DOMAIN, accounts: new Accounts(), mechanisms: [] }), /no mechanism/);
});

test("standard rabbit: chooses SCRAM-SHA-1 from the lab's offer, checks the lab's signature, gets online; PBKDF2 runs once per password, not per login", () => {
  const { world, rabbit } = rabbitOnline(ALL, "standard");
  const logins = labEvents(world, "login");
  // One resource per stream: boot, then idle on a second login.
  assert.ok(logins.length >= 2, `${logins.length} logins`);
  assert.ok(logins.every((e) => e.mechanism === "SCRAM-SHA-1" && e.mac === MAC));
  assert.deepEqual(labEvents(world, "login-failed"), []);
  assert.ok(rabbit.sent.some((s) => s.startsWith(`<auth xmlns='${NS}' mechanism='SCRAM-SHA-1'>${b64(`n,,n=${MAC},r=`).slice(0, 16)}`)));
  assert.ok(rabbit.received.some((r) => /^<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>[A-Za-z0-9+/=]+<\/success>$/.test(r)), "v= in <success>");
  assert.equal(rabbit.uart.filter((line) => line.startsWith("SCRAM:")).length, 0, "the rabbit found the server signature right");
  // Two passwords (accounts.ts), derived at most once each, however many logins.
  assert.ok(world.lab.xmpp.sasl.scram.derivations <= 2, `${world.lab.xmpp.sasl.scram.derivations} PBKDF2 runs`);
  const derivations = world.lab.xmpp.sasl.scram.derivations;
  assert.ok(world.lab.xmpp.sendPacket(MAC, rebootPacket()), "a reboot: logins again");
  world.run(60_000, () => labEvents(world, "login").length > logins.length + 1 && online(rabbit));
  assert.ok(labEvents(world, "login").length > logins.length, "logged in again");
  assert.equal(world.lab.xmpp.sasl.scram.derivations, derivations);
});

test("firmware rabbit with --sasl SCRAM-SHA-1 (its raw password, the lab's `password`) and with PLAIN: online", () => {
  for (const sasl of ["SCRAM-SHA-1", "PLAIN"] as const) {
    const { world } = rabbitOnline([sasl], "firmware", sasl);
    assert.deepEqual(labEvents(world, "login").map((e) => e.mechanism), [sasl]);
    assert.deepEqual(labEvents(world, "login-failed"), []);
  }
});

test("standard rabbit with PLAIN: forced while SCRAM-SHA-1 is offered, and its own choice when PLAIN is all there is", () => {
  const forced = rabbitOnline(ALL, "standard", "PLAIN");
  assert.ok(labEvents(forced.world, "login").every((e) => e.mechanism === "PLAIN"));
  assert.ok(forced.rabbit.sent.includes(`<auth xmlns='${NS}' mechanism='PLAIN'>${b64(`\0${MAC}\0${forced.world.lab.accounts.get(MAC)!.registered}`)}</auth>`));
  assert.ok(forced.rabbit.received.includes(`<success xmlns='${NS}'/>`));
  const chosen = rabbitOnline(["PLAIN"], "standard");
  assert.ok(labEvents(chosen.world, "login").length >= 1);
  assert.ok(labEvents(chosen.world, "login").every((e) => e.mechanism === "PLAIN"));
  // A wrong stored password: refused, reported, no crash; the lab forgets it on the rabbit's report, it registers again.
  const world = labWorld("tolerant", { mechanisms: ["PLAIN"] });
  world.lab.accounts.register(MAC, SENT);
  const wrong = world.addRabbit({ mac: MAC, profile: "standard", password: "aaaaaaaaaaaa" });
  world.run(200_000, () => online(wrong));
  assert.ok(labEvents(world, "login-failed").some((e) => e.reason === "wrong password"));
  assert.ok(online(wrong), "online after registering again");
});

// ---------------------------------------------------------------------------------------------------------------------
// A hostile client, on the lab's own connection code (a LabSocket of the test's)

interface RawClient {
  /** Sends bytes as one read; returns what the lab wrote back. */
  send(text: string): string;
  auth(mechanism: string, payload?: string | Buffer): string;
  response(payload: string | Buffer): string;
  readonly closed: boolean;
}

function rawLab(mechanisms: LabSaslMechanism[] = ALL) {
  const events: LabEvent[] = [];
  const accounts = new Accounts();
  accounts.register(MAC, SENT);
  const server = new LabXmppServer({ domain: DOMAIN, accounts, mechanisms, onEvent: (event) => events.push(event), timers: () => () => undefined });
  const failures = () => events.filter((e): e is Extract<LabEvent, { type: "login-failed" }> => e.type === "login-failed");
  const logins = () => events.filter((e): e is Extract<LabEvent, { type: "login" }> => e.type === "login");
  return { server, accounts, events, failures, logins, password: accounts.get(MAC)!.password, connect: () => rawClient(server) };
}

function rawClient(server: LabXmppServer): RawClient {
  let deliver: (data: Buffer) => void = () => undefined;
  const closedHandlers: (() => void)[] = [];
  const out: string[] = [];
  let closed = false;
  server.accept({
    remote: "test:1",
    address: "test",
    write: (bytes) => void out.push(bytes.toString("utf8")),
    destroy: () => {
      if (closed) return;
      closed = true;
      for (const handler of closedHandlers) handler();
    },
    onData: (handler) => (deliver = handler),
    onClosed: (handler) => void closedHandlers.push(handler),
  });
  const send = (text: string) => {
    deliver(Buffer.from(text, "utf8"));
    return out.splice(0).join("");
  };
  const payload = (data: string | Buffer) => (typeof data === "string" ? b64(Buffer.from(data, "utf8")) : b64(data));
  send(`<?xml version='1.0'?><stream:stream to='${DOMAIN}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`);
  return {
    send,
    auth: (mechanism, data) => send(`<auth xmlns='${NS}' mechanism='${mechanism}'>${data === undefined ? "" : payload(data)}</auth>`),
    response: (data) => send(`<response xmlns='${NS}'>${payload(data)}</response>`),
    get closed() {
      return closed;
    },
  };
}

/** The SASL element's base64 content, decoded; fails the test when `reply` is not that element. */
function saslData(reply: string, name: "challenge" | "success"): string {
  const match = new RegExp(`^<${name} xmlns='${NS}'>([A-Za-z0-9+/=]*)</${name}>$`).exec(reply);
  assert.ok(match, `expected <${name}>, got ${reply}`);
  return Buffer.from(match[1]!, "base64").toString("utf8");
}

function assertFailure(reply: string, condition: string): void {
  assert.equal(reply, `<failure xmlns='${NS}'><${condition}/></failure>`);
}

const hmac = (key: Buffer, data: string) => createHmac("sha1", key).update(data).digest();

/** RFC 5802's client-final message for `serverFirst`, and the server signature to expect. */
function scramFinal(clientFirstBare: string, serverFirst: string, password: string, gs2 = "n,,") {
  const attrs = new Map(serverFirst.split(",").map((part) => [part[0]!, part.slice(2)]));
  const salted = pbkdf2Sync(password, Buffer.from(attrs.get("s")!, "base64"), Number(attrs.get("i")), 20, "sha1");
  const clientKey = hmac(salted, "Client Key");
  const storedKey = createHash("sha1").update(clientKey).digest();
  const withoutProof = `c=${b64(gs2)},r=${attrs.get("r")}`;
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
  const signature = hmac(storedKey, authMessage);
  const proof = Buffer.from(clientKey.map((byte, i) => byte ^ signature[i]!));
  return { final: `${withoutProof},p=${proof.toString("base64")}`, verifier: `v=${hmac(hmac(salted, "Server Key"), authMessage).toString("base64")}`, proof };
}

/** A whole SCRAM login on `client`: the server's first message and the reply to the final one. */
function scramLogin(client: RawClient, password: string, options: { gs2?: string; nonce?: string; user?: string } = {}) {
  const gs2 = options.gs2 ?? "n,,";
  const bare = `n=${options.user ?? MAC},r=${options.nonce ?? "fyko+d2lbbFgONRv9qkxdawL"}`;
  const serverFirst = saslData(client.auth("SCRAM-SHA-1", gs2 + bare), "challenge");
  const { final, verifier } = scramFinal(bare, serverFirst, password, gs2);
  return { serverFirst, final, verifier, reply: client.response(final) };
}

test("SCRAM-SHA-1 on the wire: RFC 5802's exchange, the server proving itself; n,, and y,,; both of the account's passwords; no initial response", () => {
  const lab = rawLab();
  const first = scramLogin(lab.connect(), lab.password);
  assert.match(first.serverFirst, new RegExp(`^r=fyko\\+d2lbbFgONRv9qkxdawL[A-Za-z0-9+/]{24},s=[A-Za-z0-9+/]{22}==,i=${LAB_SCRAM_ITERATIONS}$`));
  assert.equal(saslData(first.reply, "success"), first.verifier);
  const y = scramLogin(lab.connect(), SENT, { gs2: "y,," });
  assert.equal(saslData(y.reply, "success"), y.verifier, "y,, with the registered form of the password");
  // The salt is the account's, kept; the nonce new each time.
  assert.equal(y.serverFirst.split(",")[1], first.serverFirst.split(",")[1]);
  assert.notEqual(y.serverFirst.split(",")[0], first.serverFirst.split(",")[0]);
  // No initial response: an empty challenge asks for it.
  const client = lab.connect();
  assert.equal(client.auth("SCRAM-SHA-1"), `<challenge xmlns='${NS}'></challenge>`);
  const bare = `n=${MAC},r=abcdefgh`;
  const serverFirst = saslData(client.response(`n,,${bare}`), "challenge");
  const { final, verifier } = scramFinal(bare, serverFirst, lab.password);
  assert.equal(saslData(client.response(final), "success"), verifier);
  assert.deepEqual(lab.logins().map((e) => `${e.mac} ${e.mechanism}`), Array(3).fill(`${MAC} SCRAM-SHA-1`));
  assert.deepEqual(lab.failures(), []);
});

test("SCRAM-SHA-1: bad proofs, a replayed nonce or final message, and a name with no account are not-authorized, each a login-failed event", () => {
  const lab = rawLab();
  const client = lab.connect();
  assertFailure(scramLogin(client, "a-wrong-password").reply, "not-authorized");
  // The right password, one bit of the proof flipped.
  const bare = `n=${MAC},r=nonce-1`;
  const serverFirst = saslData(client.auth("SCRAM-SHA-1", `n,,${bare}`), "challenge");
  const { final, proof } = scramFinal(bare, serverFirst, lab.password);
  proof[0]! ^= 1;
  assertFailure(client.response(final.replace(/p=.*$/, `p=${proof.toString("base64")}`)), "not-authorized");
  // A final message captured from a login, replayed on a new exchange with the same client nonce: the server's part differs.
  const captured = scramLogin(lab.connect(), lab.password, { nonce: "replayed" });
  assert.equal(saslData(captured.reply, "success"), captured.verifier);
  const replay = lab.connect();
  saslData(replay.auth("SCRAM-SHA-1", `n,,n=${MAC},r=replayed`), "challenge");
  assertFailure(replay.response(captured.final), "not-authorized");
  // The same final twice in one exchange: the second has no exchange left.
  const twice = lab.connect();
  const once = scramLogin(twice, "wrong");
  assertFailure(once.reply, "not-authorized");
  assertFailure(twice.response(once.final), "not-authorized");
  // A name with no account: a salt all the same (no telling which names exist), then not-authorized.
  const ghost = lab.connect();
  const a = scramLogin(ghost, "x", { user: "0019db0000ff" });
  const b = scramLogin(ghost, "x", { user: "0019db0000ff" });
  assertFailure(a.reply, "not-authorized");
  assert.equal(a.serverFirst.split(",")[1], b.serverFirst.split(",")[1]);
  assert.deepEqual(lab.failures().map((e) => `${e.mac}: ${e.reason}`), [
    `${MAC}: wrong password`, `${MAC}: wrong password`, `${MAC}: client-final: not this exchange's nonce (a replay?)`,
    `${MAC}: wrong password`, `${MAC}: response without a challenge`, "0019db0000ff: no such account", "0019db0000ff: no such account",
  ]);
  assert.equal(lab.server.sasl.scram.derivations, 2, "PBKDF2 for the account's two passwords, none for the stranger");
  // Still the same connection: a right login goes through after all that.
  assert.equal(saslData(scramLogin(client, lab.password).reply, "success").slice(0, 2), "v=");
  assert.equal(client.closed, false);
  // The account forgotten and registered again between the server's first message and the client's final one: the
  // salt sent was the old account's, the credentials are gone.
  const again = rawLab();
  const late = again.connect();
  const lateBare = `n=${MAC},r=late`;
  const lateFirst = saslData(late.auth("SCRAM-SHA-1", `n,,${lateBare}`), "challenge");
  again.accounts.forget(MAC);
  again.accounts.register(MAC, SENT);
  assertFailure(late.response(scramFinal(lateBare, lateFirst, again.password).final), "not-authorized");
  assert.deepEqual(again.failures().map((e) => e.reason), ["no such account"]);
});

test("SCRAM-SHA-1: wrong gs2 headers, bad attributes and oversized fields are refused (malformed-request, incorrect-encoding, invalid-authzid, not-authorized) and the connection lives", () => {
  const lab = rawLab();
  const client = lab.connect();
  const cases: [string | Buffer, string][] = [
    [`p=tls-unique,,n=${MAC},r=abc`, "not-authorized"],
    [`n,a=${MAC}@${DOMAIN},n=${MAC},r=abc`, "invalid-authzid"],
    [`x,,n=${MAC},r=abc`, "malformed-request"],
    [`n,n=${MAC},r=abc`, "malformed-request"],
    [`n,,m=ext,n=${MAC},r=abc`, "malformed-request"],
    [`n,,r=abc,n=${MAC}`, "malformed-request"],
    [`n,,n=${MAC}`, "malformed-request"],
    [`n,,n=a=2Xb,r=abc`, "malformed-request"],
    [`n,,n=${"a".repeat(LAB_SASL_USERNAME_CHARS_MAX + 1)},r=abc`, "malformed-request"],
    [`n,,n=${MAC},r=${"a".repeat(LAB_SCRAM_CLIENT_NONCE_CHARS_MAX + 1)}`, "malformed-request"],
    [`n,,n=${MAC},r=a b`, "malformed-request"],
    [`n,,n=${MAC},r=abc,${Array(9).fill("x=1").join(",")}`, "malformed-request"],
    [`n,,n=${MAC},r=abc,junk`, "malformed-request"],
    [Buffer.from([0x6e, 0x2c, 0x2c, 0x6e, 0x3d, 0xff, 0xfe, 0x2c, 0x72, 0x3d, 0x61]), "malformed-request"],
    [`n,,n=${MAC},r=abc\u0001`, "malformed-request"],
  ];
  for (const [message, condition] of cases) assertFailure(client.auth("SCRAM-SHA-1", message), condition);
  assertFailure(client.send(`<auth xmlns='${NS}' mechanism='SCRAM-SHA-1'>!!!not base64!!!</auth>`), "incorrect-encoding");
  assertFailure(client.send(`<auth xmlns='${NS}' mechanism='SCRAM-SHA-1'>${"QUFB".repeat(LAB_SASL_BASE64_CHARS_MAX / 4 + 1)}</auth>`), "malformed-request");
  assertFailure(client.send(`<auth xmlns='${NS}' mechanism='SCRAM-SHA-1'>=</auth>`), "malformed-request");
  // Short once decoded, but the text itself over the bound (whitespace): refused before decoding.
  assertFailure(client.send(`<auth xmlns='${NS}' mechanism='SCRAM-SHA-1'>${b64(`n,,n=${MAC},r=abc`)}${" ".repeat(LAB_SASL_BASE64_CHARS_MAX)}</auth>`), "malformed-request");
  // The final message: c= not the header sent, a missing or short proof, attributes out of order.
  const bare = `n=${MAC},r=abc`;
  for (const [gs2, edit] of [["y,,", (f: string) => f.replace("c=eSws", "c=biws")], ["n,,", (f: string) => f.replace(/,p=.*$/, "")], ["n,,", (f: string) => f.replace(/p=.{8}/, "p=")], ["n,,", (f: string) => f.replace(/^c=biws,(r=[^,]*)/, "$1,c=biws")]] as const) {
    const serverFirst = saslData(client.auth("SCRAM-SHA-1", `${gs2}${bare}`), "challenge");
    assertFailure(client.response(edit(scramFinal(bare, serverFirst, lab.password, gs2).final)), "malformed-request");
  }
  assert.equal(lab.failures().length, cases.length + 4 + 4, "one login-failed event each");
  assert.deepEqual(lab.logins(), []);
  assert.equal(client.closed, false);
  // Beyond the stanza bound the stream itself is closed (policy-violation), as for any stanza.
  const big = lab.connect();
  const reply = big.send(`<auth xmlns='${NS}' mechanism='SCRAM-SHA-1'>${"QUFB".repeat(LAB_STANZA_BYTES_MAX / 4 + 1)}</auth>`);
  assert.match(reply, /<policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'\/>/);
  assert.equal(big.closed, true);
  // A mechanism not offered.
  assertFailure(rawLab(["DIGEST-MD5"]).connect().auth("SCRAM-SHA-1", bare), "invalid-mechanism");
});

test("PLAIN on the wire: either password, an authzid that is the user; refused: a wrong password, someone else's authzid, bad fields", () => {
  const lab = rawLab();
  const client = lab.connect();
  assert.equal(client.auth("PLAIN", `\0${MAC}\0${lab.password}`), `<success xmlns='${NS}'/>`);
  assert.equal(lab.connect().auth("PLAIN", `${MAC}@${DOMAIN}\0${MAC}\0${SENT}`), `<success xmlns='${NS}'/>`);
  const asked = lab.connect();
  assert.equal(asked.auth("PLAIN"), `<challenge xmlns='${NS}'></challenge>`);
  assert.equal(asked.response(`${MAC}\0${MAC}\0${SENT}`), `<success xmlns='${NS}'/>`);
  const hostile = lab.connect();
  const cases: [string | Buffer, string][] = [
    [`\0${MAC}\0wrong`, "not-authorized"],
    [`\0${MAC}\0${lab.password}x`, "not-authorized"],
    [`\0${"0019db0000ff"}\0${lab.password}`, "not-authorized"],
    [`0019db0000ff\0${MAC}\0${lab.password}`, "invalid-authzid"],
    [`${MAC}\0${lab.password}`, "malformed-request"],
    [`\0${MAC}\0${lab.password}\0`, "malformed-request"],
    [`\0\0${lab.password}`, "malformed-request"],
    [`\0${MAC}\0`, "malformed-request"],
    [`\0${MAC}\0${"p".repeat(256)}`, "malformed-request"],
    [`${"z".repeat(256)}\0${MAC}\0${lab.password}`, "malformed-request"],
    [Buffer.concat([Buffer.from(`\0${MAC}\0`), Buffer.from([0xc3, 0x28])]), "malformed-request"],
    ["=", "malformed-request"],
  ];
  for (const [message, condition] of cases) {
    const reply = message === "=" ? hostile.send(`<auth xmlns='${NS}' mechanism='PLAIN'>=</auth>`) : hostile.auth("PLAIN", message);
    assertFailure(reply, condition);
  }
  assert.equal(lab.failures().length, cases.length);
  assert.deepEqual(lab.failures().slice(0, 3).map((e) => e.reason), ["wrong password", "wrong password", "no such account"]);
  assert.equal(lab.logins().length, 3);
  assert.equal(hostile.closed, false);
});

// ---------------------------------------------------------------------------------------------------------------------
// xmpp.js, a standard client, against the lab on loopback

const MACS = Array.from({ length: 20 }, (_, i) => (0x0019db300000 + i).toString(16).padStart(12, "0"));
/** How long a loopback login or a child's start may take before the test fails rather than waits. */
const WAIT_MS = 30_000;

/** `promise`, or a rejection after `ms`: a test that fails says so instead of hanging. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * One xmpp.js client (its default configuration; PLAIN, which it does not choose without TLS, named for it) logged in
 * to the lab, then stopped: the JID it got, its statuses. Always stopped, so its reconnection never outlives a test.
 */
async function xmppjsLogin(port: number, username: string, password: string, mechanism: "SCRAM-SHA-1" | "PLAIN") {
  const xmpp = client({
    service: `xmpp://127.0.0.1:${port}`, domain: DOMAIN, username, password,
    ...(mechanism === "PLAIN" ? { credentials: (authenticate, offered) => authenticate({ username, password }, offered.find((m) => m === "PLAIN") ?? "none") } : {}),
  });
  const statuses: string[] = [];
  xmpp.on("status", (status: string) => statuses.push(status));
  xmpp.on("error", () => undefined);
  try {
    const jid = String(await within(xmpp.start(), WAIT_MS, "xmpp.js online"));
    await within(xmpp.stop(), WAIT_MS, "xmpp.js stop");
    return { jid, statuses };
  } finally {
    if (xmpp.status !== "offline") await xmpp.stop().catch(() => undefined);
  }
}

test("xmpp.js logs in with SCRAM-SHA-1 (its own choice) and with PLAIN, binds, is online, and closes its stream cleanly", { timeout: 60_000 }, async () => {
  const events: LabEvent[] = [];
  const lab = await startLab({ mechanisms: ALL, domain: DOMAIN, onEvent: (event) => events.push(event as LabEvent) });
  try {
    lab.accounts.register(MAC, SENT);
    for (const [mechanism, password] of [["SCRAM-SHA-1", lab.accounts.get(MAC)!.password], ["PLAIN", SENT]] as const) {
      const { jid, statuses } = await xmppjsLogin(lab.xmppPort, MAC, password, mechanism);
      assert.equal(jid, `${MAC}@${DOMAIN}/boot`);
      // The lab answered the closing tag: the stream closed before the socket, so xmpp.js does not reconnect.
      assert.deepEqual(statuses.slice(statuses.indexOf("closing")), ["closing", "close", "disconnecting", "disconnect", "offline"], statuses.join(" "));
      assert.equal(events.filter((e) => e.type === "login").at(-1)?.mechanism, mechanism);
    }
    assert.deepEqual(events.filter((e) => e.type === "login-failed"), []);
    assert.deepEqual(events.filter((e) => e.type === "bound").map((e) => e.type === "bound" && e.resource), ["boot", "boot"]);
  } finally {
    await lab.close();
  }
});

/** Runs test/bench/xmppjs-logins.ts (a child process: the lab here keeps answering) and returns its JSON line. */
function runLogins(args: string[], pairs: string[]): Promise<{ line: Record<string, unknown>; code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [join(ROOT, "build/test/bench/xmppjs-logins.js"), ...args], { stdio: ["pipe", "pipe", "pipe"], timeout: 170_000 });
  child.stdin.end(pairs.join("\n"));
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (data: Buffer) => (stdout += data.toString()));
  child.stderr.on("data", (data: Buffer) => (stderr += data.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ line: JSON.parse(stdout.trim().split("\n").at(-1) || "{}") as Record<string, unknown>, code, stderr })));
}

test("test/bench/xmppjs-logins.ts: 20 xmpp.js clients at once come online with SCRAM-SHA-1, then with PLAIN, and it says what they cost", { timeout: 180_000 }, async () => {
  for (const mechanism of ["SCRAM-SHA-1", "PLAIN"] as const) {
    const logins: string[] = [];
    const lab = await startLab({ mechanisms: ALL, domain: DOMAIN, onEvent: (event) => void (event.type === "login" && logins.push(`${event.mac} ${event.mechanism}`)) });
    try {
      // Half log in with the password as stored (XORed with the MAC), half with what was registered.
      const pairs = MACS.map((mac, i) => {
        assert.ok(lab.accounts.register(mac, SENT));
        return `${mac}:${i % 2 ? lab.accounts.get(mac)!.password : SENT}`;
      });
      const { line, code, stderr } = await runLogins(["--service", `xmpp://127.0.0.1:${lab.xmppPort}`, "--domain", DOMAIN, "--mechanism", mechanism, "--timeout", "150000"], pairs);
      assert.equal(code, 0, stderr);
      assert.deepEqual(Object.keys(line), ["clients", "mechanism", "cpuMs", "cpuMsPerLogin", "wallMs", "failures"]);
      assert.deepEqual({ clients: line.clients, mechanism: line.mechanism, failures: line.failures }, { clients: MACS.length, mechanism, failures: 0 });
      for (const key of ["cpuMs", "cpuMsPerLogin", "wallMs"]) assert.ok(typeof line[key] === "number" && line[key] > 0, `${key}: ${String(line[key])}`);
      assert.ok(Math.abs((line.cpuMsPerLogin as number) * MACS.length - (line.cpuMs as number)) < 0.01 * MACS.length);
      assert.deepEqual(logins.sort(), MACS.map((mac) => `${mac} ${mechanism}`));
    } finally {
      await lab.close();
    }
  }
  // A wrong password: counted as a failure, exit status 1.
  const lab = await startLab({ mechanisms: ["PLAIN"], domain: DOMAIN });
  try {
    lab.accounts.register(MAC, SENT);
    const { line, code } = await runLogins(["--service", `xmpp://127.0.0.1:${lab.xmppPort}`, "--domain", DOMAIN, "--mechanism", "PLAIN", "--timeout", "20000", `${MAC}:${SENT}`, `0019db000002:nope`], []);
    assert.deepEqual({ clients: line.clients, failures: line.failures, code }, { clients: 2, failures: 1, code: 1 });
  } finally {
    await lab.close();
  }
});

test("nabaztag-vm lab --mechanisms: offers them (xmpp.js gets online with SCRAM-SHA-1); bad lists are bad usage", { timeout: 60_000 }, async () => {
  for (const [args, message] of [
    [["--mechanisms", "SCRAM-SHA-1,CRAM-MD5"], /--mechanisms: "CRAM-MD5" is not one of SCRAM-SHA-1, DIGEST-MD5, PLAIN/],
    [["--mechanisms", "PLAIN,plain"], /--mechanisms: a mechanism named twice/],
    [["--mechanisms", "PLAIN", "--dialect", "openjabnab"], /--mechanisms is for the tolerant dialect/],
  ] as const) {
    const result = spawnSync(process.execPath, [join(ROOT, "build/host/cli.js"), "lab", ...args], { encoding: "utf8", timeout: 20_000 });
    assert.equal(result.status, 2, args.join(" "));
    assert.match(result.stderr, message);
  }
  const help = spawnSync(process.execPath, [join(ROOT, "build/host/cli.js"), "lab", "--help"], { encoding: "utf8" });
  assert.match(help.stdout, /--mechanisms LIST/);
  const home = mkdtempSync(join(tmpdir(), "nabaztag-sasl-"));
  const child = spawn(process.execPath, [join(ROOT, "build/host/cli.js"), "lab", "--http-port", "0", "--xmpp-port", "0", "--json", "--mechanisms", "scram-sha-1,PLAIN", "--token-file", join(home, "token")], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    const lines = createInterface({ input: child.stdout });
    const logins: string[] = [];
    const started = new Promise<number>((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`the lab exited (${code})`)));
      lines.on("line", (text) => {
        const event = JSON.parse(text) as Record<string, unknown>;
        if (event.event === "lab") resolve(event.xmppPort as number);
        if (event.event === "lab-login") logins.push(String(event.mechanism));
      });
    });
    const port = await within(started, WAIT_MS, "the lab's start");
    // The lab starts with no accounts: register in-band first (XEP-0077, which the tolerant lab takes).
    await within(registerInBand(port, MAC, SENT), WAIT_MS, "in-band registration");
    const xmpp = client({ service: `xmpp://127.0.0.1:${port}`, domain: "localhost", username: MAC, password: SENT });
    xmpp.on("error", () => undefined);
    try {
      await within(xmpp.start(), WAIT_MS, "xmpp.js online");
    } finally {
      await xmpp.stop().catch(() => undefined);
    }
    assert.deepEqual(logins, ["SCRAM-SHA-1"]);
  } finally {
    const exited = new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once("exit", resolve)));
    child.kill("SIGINT");
    await within(exited, WAIT_MS, "the lab's exit").catch(() => child.kill("SIGKILL"));
    rmSync(home, { recursive: true, force: true });
  }
});

/** XEP-0077 in-band registration on a raw socket, before any login (the tolerant lab takes jabber:iq:register). */
async function registerInBand(port: number, mac: string, password: string): Promise<void> {
  const socket = connect(port, "127.0.0.1");
  socket.setTimeout(WAIT_MS, () => socket.destroy(new Error("in-band registration: no answer")));
  let received = "";
  let asked = false;
  await new Promise<void>((resolve, reject) => {
    socket.on("error", reject);
    socket.on("close", () => reject(new Error(`in-band registration: closed after ${JSON.stringify(received.slice(-200))}`)));
    socket.on("data", (data) => {
      received += data.toString();
      if (received.includes("</stream:features>") && !asked) {
        asked = true;
        socket.write(`<iq type='set' id='r1'><query xmlns='jabber:iq:register'><username>${mac}</username><password>${password}</password></query></iq>`);
      }
      if (/<iq [^>]*id='r1'[^>]*type='result'/.test(received)) resolve();
    });
    socket.write("<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>");
  });
  socket.destroy();
}
