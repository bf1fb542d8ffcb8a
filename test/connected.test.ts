// Once connected (spec §9, §10): the keep-alive, the platform's iq requests and the sender check, the events the
// rabbit sends, malformed packets, and the ends of a stream; plus boot failures and the flash file.

import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Flash } from "../host/vm/flash.js";
import { ScriptedServer, virtualRabbit, type Step } from "./harness.js";
import { happyPathSteps, JID } from "./scripts.js";

/** A firmware rabbit brought online (as idle) by the happy path, then the given steps. */
function online(steps: Step[], quirks = {}, variant?: "debug" | "device" | "release") {
  const setup = virtualRabbit({ profile: "firmware", quirks, variant });
  const server = new ScriptedServer(setup.network, [...happyPathSteps({}), ...steps]);
  setup.rabbit.start();
  setup.run(120_000, () => server.done || server.failures.length > 0);
  assert.deepEqual(server.failures, []);
  assert.ok(server.done, `the script stopped at ${server.position}`);
  return { ...setup, server };
}

const PLATFORM = "net.violet.platform@xmpp.platform.violet.net/sources";

test("the keep-alive: one space after more than 8 s without I/O, and the server's silence is fine", () => {
  const { server, run, rabbit, scheduler } = online([]);
  const sent: string[] = [];
  const times: number[] = [];
  server.peer!.onData = (bytes) => {
    sent.push(Buffer.from(bytes).toString("latin1"));
    times.push(scheduler.now());
  };
  run(25_000);
  assert.ok(sent.length >= 2, `${sent.length} keep-alives in 25 s`);
  assert.ok(sent.every((s) => s === " "));
  assert.equal(rabbit.status, "opened");
  // "More than 8 s" on the seconds clock: one every 9 s once idle (the keep-alive is I/O itself).
  assert.equal(times[1]! - times[0]!, 9_000);
});

test("the read timeout: no read for more than 60 s disconnects (writes do not count without read-timeout-writes)", () => {
  const { run, rabbit, recorded } = online([], { "read-timeout-writes": false });
  run(70_000, () => rabbit.status === "closed");
  assert.ok(recorded.uart.includes("read timeout"));
  assert.equal(rabbit.status, "closed");
  // With the firmware's quirk, its own keep-alives keep the read clock fresh.
  const quirky = online([]);
  quirky.run(70_000);
  assert.ok(!quirky.recorded.uart.includes("read timeout"));
});

test("iq from the platform: version, disco#info, addresses; from elsewhere dropped (iq-silent-drop) or answered", () => {
  const { server, rabbit, run } = online([
    { label: "version", reply: `<iq from='${PLATFORM}' to='${JID}/idle' type='get' id='v1'><query xmlns='jabber:iq:version'/></iq>` },
    { expect: new RegExp(`^<iq from='${JID}/idle' to='${PLATFORM}' type='result' id='v1'><query xmlns='jabber:iq:version'><name>Nabaztag/tag</name><version>18673</version></query></iq>$`) },
    { label: "disco", reply: `<iq from='${PLATFORM}' to='${JID}/idle' type='get' id='d1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>` },
    { expect: /^<iq [^>]*type='result' id='d1'><query xmlns='http:\/\/jabber\.org\/protocol\/disco#info'><feature var='jabber:iq:version'\/><feature var='urn:xmpp:ping'\/><\/query><\/iq>$/ },
    { label: "addresses", reply: `<iq from='${PLATFORM}' to='${JID}/idle' type='set' id='a1'><addresses xmlns='violet:iq:addresses'><int>events</int></addresses></iq>` },
    { expect: /^<iq [^>]*type='result' id='a1'\/>$/ },
    // A version query from an ordinary domain: the firmware drops it; a ping then shows the rabbit alive.
    { label: "version from a stranger", reply: `<iq from='someone@almacska/x' to='${JID}/idle' type='get' id='v2'><query xmlns='jabber:iq:version'/></iq>` },
    { label: "ping", reply: `<iq from='almacska' to='${JID}/idle' type='get' id='p2'><ping xmlns='urn:xmpp:ping'/></iq>` },
    { expect: /^<iq [^>]*type='result' id='p2'><ping xmlns='urn:xmpp:ping'\/><\/iq>$/ },
  ]);
  assert.equal(server.received.at(-1)!.filter((s) => s.includes("id='v2'")).length, 0);
  // The addresses named the events' target: a double click goes there.
  rabbit.button(2);
  run(1000);
  assert.match(server.received.at(-1)!.at(-1)!, new RegExp(`^<message from='${JID}/idle' to='events@xmpp\\.objects\\.violet\\.net/events' id='\\d+'><button xmlns="violet:nabaztag:button"><clic>2</clic></button></message>$`));
});

test("button and ears events go to INT@xmpp.objects.violet.net/INT", () => {
  const { rabbit, server, run } = online([]);
  rabbit.button(1);
  rabbit.ears(3, 14);
  run(1000);
  const stanzas = server.received.at(-1)!;
  assert.ok(stanzas.includes(`<message from='${JID}/idle' to='int@xmpp.objects.violet.net/int' id='8'><button xmlns="violet:nabaztag:button"><clic>1</clic></button></message>`), stanzas.slice(-3).join("\n"));
  assert.ok(stanzas.includes(`<message from='${JID}/idle' to='int@xmpp.objects.violet.net/int' id='9'><ears xmlns="violet:nabaztag:ears"><left>3</left><right>14</right></ears></message>`));
});

test("malformed packets are reported and survived: bad start byte, unknown type, length past the end, no end byte", () => {
  const bad = {
    "no 0x7F start byte": Buffer.from("7e0b00000101ff", "hex"),
    "unknown frame type": Buffer.from("7f0c00000101ff", "hex"),
    "frame length past the end": Buffer.from("7f0b000009 01ff".replace(" ", ""), "hex"),
    "no 0xFF end byte": Buffer.from("7f0b00000101", "hex"),
  };
  const steps: Step[] = Object.values(bad).map((packet, i) => ({
    label: `packet ${i}`,
    reply: `<message from='x@almacska/y' to='${JID}/idle' id='m${i}'><packet xmlns='violet:packet' format='1.0'>${packet.toString("base64")}</packet></message>`,
  }));
  steps.push({ label: "ping", reply: `<iq from='almacska' to='${JID}/idle' type='get' id='p9'><ping xmlns='urn:xmpp:ping'/></iq>` });
  steps.push({ expect: /id='p9'/ });
  const { recorded, rabbit } = online(steps);
  const errors = recorded.reports.filter((r) => r.kind === "packet-error").map((r) => r.text);
  assert.equal(errors.length, 4);
  for (const reason of Object.keys(bad)) assert.ok(errors.some((e) => e.includes(reason)), reason);
  assert.equal(rabbit.status, "opened");
  assert.equal(recorded.reboots, 0);
});

test("a 1.1 KiB packet: past the device build's 1 KiB, rejected there; the full build reports its frame", () => {
  // One message frame (0x0a) of 1,100 bytes: 7F, type, a 3-byte length, the data, FF.
  const data = Buffer.alloc(1100, 0x41);
  const packet = Buffer.concat([Buffer.from([0x7f, 0x0a, 0x00, 0x04, 0x4c]), data, Buffer.from([0xff])]);
  const steps: Step[] = [
    { label: "big packet", reply: `<message from='x@almacska/y' to='${JID}/idle' id='b1'><packet xmlns='violet:packet' format='1.0'>${packet.toString("base64")}</packet></message>` },
    { label: "ping", reply: `<iq from='almacska' to='${JID}/idle' type='get' id='p9'><ping xmlns='urn:xmpp:ping'/></iq>` },
    { expect: /id='p9'/ },
  ];
  // The message frames reported (the happy path's init packet has an ambient and a mode frame, not these).
  const messages = (reports: { kind: string; text: string }[]) => reports.filter((r) => r.kind === "frame" && r.text.charCodeAt(0) === 0x0a);
  const device = online(steps, {}, "device");
  assert.deepEqual(device.recorded.reports.filter((r) => r.kind === "packet-error").map((r) => r.text), ["packet rejected: larger than the packet buffer (PACKET_CAPACITY)"]);
  assert.equal(messages(device.recorded.reports).length, 0);
  assert.equal(device.rabbit.status, "opened");
  const full = online(steps, {}, "release");
  assert.equal(full.recorded.reports.filter((r) => r.kind === "packet-error").length, 0);
  assert.deepEqual(messages(full.recorded.reports).map((r) => r.text.length), [1 + 1100]);
});

test("a reboot frame reboots; the new instance keeps the flash", () => {
  const { recorded, run, flash } = online([
    { label: "reboot packet", reply: `<message from='x@almacska/y' to='${JID}/idle' id='r1'><packet xmlns='violet:packet' format='1.0'>fwkAAAEA/w==</packet></message>` },
  ]);
  run(10_000, () => recorded.reboots > 0);
  assert.equal(recorded.reboots, 1);
  assert.ok(recorded.reports.some((r) => r.kind === "reboot" && r.text === "reboot frame"));
  assert.match(flash.password() ?? "", /^[0-9a-f]{12}$/);
});

test("</stream:stream>: the firmware reboots at once; <stream:error> is only logged", () => {
  const logged = online([{ label: "stream error", reply: "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>" }]);
  logged.run(1000);
  assert.ok(logged.recorded.uart.includes("Erreur dans le flux!"));
  assert.equal(logged.rabbit.status, "opened");
  const closed = online([{ label: "stream end", reply: "</stream:stream>" }]);
  closed.run(1000);
  assert.equal(closed.recorded.reboots, 1);
  assert.ok(closed.recorded.reports.some((r) => r.kind === "reboot" && r.text === "stream closed by the server"));
});

test("locate.jsp failing reboots ('call to locate.jsp failed, rebooting'); no xmpp_domain means no XMPP", () => {
  const failing = virtualRabbit({ locate: null });
  failing.rabbit.start();
  failing.run(1000);
  assert.ok(failing.recorded.uart.includes("call to locate.jsp failed, rebooting"));
  assert.equal(failing.recorded.reboots, 1);
  const noDomain = virtualRabbit({ locate: "ping 127.0.0.1:8080\n" });
  noDomain.rabbit.start();
  noDomain.run(30_000);
  assert.equal(noDomain.recorded.reboots, 0);
  assert.equal(noDomain.rabbit.status, "booting");
  assert.ok(noDomain.recorded.reports.some((r) => r.kind === "error" && r.text.includes("xmpp_domain")));
});

test("SRV answers: the firmware tries the last received first; the standard profile follows RFC 2782", () => {
  const srv = {
    "_xmpp-client._tcp.almacska": [
      { port: 5301, priority: 10, weight: 0, target: "first.example." },
      { port: 5302, priority: 5, weight: 0, target: "10.0.0.3" },
    ],
  };
  for (const [profile, expected] of [["firmware", "10.0.0.3:5302"], ["standard", "10.0.0.3:5302"]] as const) {
    const setup = virtualRabbit({ profile, srv, addresses: { "first.example": "10.0.0.2" } });
    const attempts: string[] = [];
    setup.network.listen("10.0.0.2", 5301, () => attempts.push("10.0.0.2:5301"));
    setup.network.listen("10.0.0.3", 5302, () => attempts.push("10.0.0.3:5302"));
    setup.rabbit.start();
    setup.run(1000);
    // Firmware: prepended, so the second answer comes first. Standard: priority 5 before 10.
    assert.equal(attempts[0], expected, profile);
  }
  // And with the order reversed in the answer, the two profiles differ.
  const reversed = { "_xmpp-client._tcp.almacska": [...srv["_xmpp-client._tcp.almacska"]].reverse() };
  const firsts: string[] = [];
  for (const profile of ["firmware", "standard"] as const) {
    const setup = virtualRabbit({ profile, srv: reversed, addresses: { "first.example": "10.0.0.2" } });
    setup.network.listen("10.0.0.2", 5301, () => firsts.push(`${profile} 10.0.0.2:5301`));
    setup.network.listen("10.0.0.3", 5302, () => firsts.push(`${profile} 10.0.0.3:5302`));
    setup.rabbit.start();
    setup.run(1000);
  }
  assert.deepEqual(firsts, ["firmware 10.0.0.2:5301", "standard 10.0.0.3:5302"]);
});

test("the flash file: created on first use, written whole through a temporary file, read back", () => {
  const directory = mkdtempSync(join(tmpdir(), "nabaztag-flash-"));
  try {
    const path = join(directory, "rabbit.flash");
    const flash = new Flash(path);
    flash.setServerUrl("127.0.0.1:8080/vl");
    flash.setPassword("0123456789ab");
    const bytes = readFileSync(path);
    assert.equal(bytes.length, 4096);
    assert.equal(bytes[208], 0x64);
    assert.equal(bytes.subarray(209, 221).toString("latin1"), "0123456789ab");
    assert.deepEqual(readdirSync(directory), ["rabbit.flash"], "no temporary file is left behind");
    const again = new Flash(path);
    assert.equal(again.password(), "0123456789ab");
    assert.equal(again.serverUrl(), "127.0.0.1:8080/vl");
    assert.throws(() => new Flash(join(directory, "missing")).setPassword("not hex"), /12 lowercase hex/);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});
