// The lab's two dialects against rabbits on virtual time. `openjabnab`: exactly what OpenJabNab's source accepts
// (host/lab/openjabnab.ts), so a rabbit that gets online here gets online there; `tolerant`: everything, with a note
// where OpenJabNab would refuse. The registration forms, the standard profile's bounded wait for its presence echo,
// and the failure-loop diagnosis.

import assert from "node:assert/strict";
import { test } from "node:test";
import { FAILURE_REPEATS_REPORTED, FailureDiagnosis, type Diagnosis } from "../host/diagnose.js";
import { ambientPacket, modePacket, rebootPacket } from "../host/lab/packets.js";
import { ojnDigest, ojnReply, ojnXor, parseOjnIq } from "../host/lab/openjabnab.js";
import type { Profile } from "../host/quirks.js";
import type { RegistrationForm } from "../host/rabbit.js";
import { labWorld, type LabWorld, type WorldRabbit } from "./lab-world.js";

const MAC = "0019db01dbd7";

function eventsOf(world: LabWorld, type: string, mac = MAC): Record<string, unknown>[] {
  return world.events.filter((event) => event.type === type && (!("mac" in event) || event.mac === undefined || event.mac === mac)) as unknown as Record<string, unknown>[];
}

function online(rabbit: WorldRabbit): boolean {
  return rabbit.reports.some((report) => report.kind === "online") && rabbit.rabbit.state === "ssFree";
}

function watchDiagnosis(profile: Profile, registration: RegistrationForm) {
  const found: Diagnosis[] = [];
  return { found, listener: new FailureDiagnosis({ profile, registration, report: (diagnosis) => found.push(diagnosis) }) };
}

test("OpenJabNab's pieces: the IQ parser, its reply formats, ComputeXor and ComputeResponse (platform.md's worked example)", () => {
  const iq = parseOjnIq(`<iq from="${MAC}@almacska/" to="almacska" type='set' id='1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>boot</resource></bind></iq>`);
  assert.deepEqual({ valid: iq.valid, type: iq.type, id: iq.id, from: iq.from, to: iq.to }, { valid: true, type: "set", id: "1", from: `${MAC}@almacska/`, to: "almacska" });
  assert.equal(parseOjnIq("<iq type='get' id='1' xml:lang='en'><ping xmlns='urn:xmpp:ping'/></iq>").valid, false, "an attribute other than type, id, from, to");
  assert.equal(ojnReply(iq, "result", "%4 %3 %2 %1", "<x/>"), `<iq type='result' to='${MAC}@almacska/' from='almacska' id='1'><x/></iq>`);
  assert.equal(ojnReply(iq, "result", "%1 %4", null), "<iq id='1' type='result'/>");
  assert.equal(ojnXor("0019db01dbd7", "1a32e74c85b8"), "1a2b3c4d5e6f");
  const cnonce = "1234567890123\0";
  assert.equal(ojnDigest(MAC, "1a2b3c4d5e6f", "1804289383", cnonce, "00000001", "xmpp/almacska", "AUTHENTICATE"), "39c073039334d73cf58b4c13d0bbd33f");
  assert.equal(ojnDigest(MAC, "1a2b3c4d5e6f", "1804289383", cnonce, "00000001", "xmpp/almacska", ""), "7ec556b3b7125358b5eda4389ec2dd9e");
});

test("openjabnab dialect: a firmware rabbit with the stock form registers, logs in, binds boot, gets its sources, goes idle, is online", () => {
  const world = labWorld("openjabnab");
  const rabbit = world.addRabbit({ mac: MAC });
  world.run(60_000, () => online(rabbit));
  assert.ok(online(rabbit), `not online; lab: ${JSON.stringify(world.events.slice(-5))}`);
  assert.equal(rabbit.rabbit.registration, "stock");
  assert.ok(rabbit.sent.includes("<iq type='get' id='1'><query xmlns='violet:iq:register'/></iq>"));
  assert.ok(rabbit.sent.some((s) => /^<iq to='almacska' type='set' id='2'><query xmlns="violet:iq:register"><username>0019db01dbd7<\/username><password>[0-9a-f]{12}<\/password><\/query><\/iq>$/.test(s)));
  // OpenJabNab echoes the set's content, with the empty `to` of a query that had no `from`.
  assert.ok(rabbit.received.some((r) => r.startsWith("<iq id='2' from='almacska' to='' type='result'><query xmlns=\"violet:iq:register\">")));
  assert.deepEqual(world.events.filter((e) => ["registered", "login", "bound", "sources", "online", "unbound"].includes(e.type)).map((e) => `${e.type}${"resource" in e ? ` ${e.resource}` : ""}`),
    ["registered", "login", "bound boot", "sources", "bound idle", "online idle", "unbound boot"]);
  assert.equal(eventsOf(world, "refused").length + eventsOf(world, "unhandled").length, 0);
  assert.ok(rabbit.reports.some((r) => r.kind === "online" && r.text === `${MAC}@almacska/idle`));
  // The platform keeps the de-obfuscated password, the one in flash.
  assert.equal(world.lab.accounts.get(MAC)?.password, rabbit.flash.password());
});

test("openjabnab dialect: pushed sleep, wake, ears and reboot are decoded and acted on", () => {
  const world = labWorld("openjabnab");
  const rabbit = world.addRabbit({ mac: MAC });
  world.run(60_000, () => online(rabbit));
  const frames = () => rabbit.reports.filter((r) => r.kind === "frame").length;
  const bound = (resource: string) => eventsOf(world, "bound").filter((e) => e.resource === resource).length;

  assert.ok(world.lab.xmpp.sendPacket(MAC, modePacket(true)));
  world.run(10_000, () => bound("asleep") === 1 && rabbit.rabbit.state === "ssFree");
  assert.equal(bound("asleep"), 1, "rebound as asleep");
  assert.ok(rabbit.received.some((r) => /^<message from='net\.openjabnab\.platform@almacska\/services' to='0019db01dbd7@almacska\/idle' id='OJaNa-\d+'><packet/.test(r)));

  assert.ok(world.lab.xmpp.sendPacket(MAC, modePacket(false)));
  world.run(10_000, () => bound("idle") === 2 && rabbit.rabbit.state === "ssFree");
  assert.equal(bound("idle"), 2, "rebound as idle");

  const before = frames();
  assert.ok(world.lab.xmpp.sendPacket(MAC, ambientPacket({ left: 10, right: 5 })));
  world.run(2_000);
  const ambient = rabbit.reports.slice().reverse().find((r) => r.kind === "frame");
  assert.equal(frames(), before + 1);
  assert.equal(Buffer.from(ambient!.text, "latin1").toString("hex"), "047ffffffe040a0505");

  assert.ok(world.lab.xmpp.sendPacket(MAC, rebootPacket()));
  world.run(2_000, () => rabbit.reboots === 1);
  assert.equal(rabbit.reboots, 1);
  // After the reboot it logs in with its stored password: no second registration.
  world.run(60_000, () => eventsOf(world, "login").length === 2 && online(rabbit));
  assert.equal(eventsOf(world, "registered").length, 1);
  assert.ok(online(rabbit));
});

test("openjabnab dialect: a rabbit whose password is already stored gets OpenJabNab's refusal (the stream closed), over and over, and the host says why", () => {
  const world = labWorld("openjabnab");
  world.lab.accounts.register(MAC, "00112233aabb");
  const watch = watchDiagnosis("firmware", "stock");
  const rabbit = world.addRabbit({ mac: MAC, listener: watch.listener });
  world.run(200_000, () => rabbit.reboots >= FAILURE_REPEATS_REPORTED + 1);
  const refused = eventsOf(world, "refused");
  assert.ok(refused.length >= FAILURE_REPEATS_REPORTED);
  assert.ok(refused.every((e) => e.reason === `Password already set for bunny : ${MAC}`), JSON.stringify(refused[0]));
  assert.ok(rabbit.reboots >= FAILURE_REPEATS_REPORTED, "the firmware reboots on the closed stream, each time");
  assert.equal(rabbit.reports.filter((r) => r.kind === "online").length, 0);
  assert.deepEqual(watch.found.map((d) => d.cause), ["closed-after-register-set"]);
  assert.match(watch.found[0]!.message, /already stores a password for this MAC/);
  // Said once, at the third failure in a row (not the second, not the fourth: README, "The commands").
  assert.equal(watch.found[0]!.count, 3);
});

test("openjabnab dialect: the seed's form is refused as OpenJabNab refuses it (Bad Auth Step 1), the binary form too", () => {
  for (const registration of ["seed", "binary"] as const) {
    const world = labWorld("openjabnab");
    const watch = watchDiagnosis("firmware", registration);
    const rabbit = world.addRabbit({ mac: MAC, registration, listener: watch.listener });
    world.run(200_000, () => watch.found.length > 0);
    assert.ok(rabbit.sent.includes("<iq type='get' id='1'><query xmlns='jabber:iq:register'/></iq>"));
    assert.equal(eventsOf(world, "refused")[0]?.reason, "Bad Auth Step 1, disconnect");
    assert.equal(eventsOf(world, "registered").length, 0);
    assert.ok(rabbit.reboots >= FAILURE_REPEATS_REPORTED - 1);
    assert.equal(watch.found[0]?.cause, "closed-after-register-get:jabber:iq:register");
    assert.match(watch.found[0]!.message, /try --registration stock/);
  }
});

test("openjabnab dialect, standard profile: XEP-0077 is refused; with the stock form the RFC login is refused (no NUL cnonce); with OpenJabNab's quirks it gets online without the presence echo", () => {
  // XEP-0077 (jabber:iq:register): the stream is closed at once; the standard profile reconnects (no reboot).
  const refusedWorld = labWorld("openjabnab");
  const refused = refusedWorld.addRabbit({ mac: MAC, profile: "standard" });
  refusedWorld.run(120_000, () => eventsOf(refusedWorld, "refused").length >= 2);
  assert.equal(eventsOf(refusedWorld, "refused")[0]?.reason, "Bad Auth Step 1, disconnect");
  assert.equal(refused.reboots, 0);

  // Stock form, RFC DIGEST-MD5: registered, then OpenJabNab hashes the cnonce with a NUL the RFC rabbit does not send.
  const rfcWorld = labWorld("openjabnab");
  const watch = watchDiagnosis("standard", "stock");
  const rfc = rfcWorld.addRabbit({ mac: MAC, profile: "standard", registration: "stock", listener: watch.listener });
  rfcWorld.run(400_000, () => watch.found.length > 0);
  assert.ok(eventsOf(rfcWorld, "registered").length >= 1);
  assert.ok(eventsOf(rfcWorld, "login-failed").length >= FAILURE_REPEATS_REPORTED);
  assert.equal(rfc.reports.filter((r) => r.kind === "online").length, 0);
  assert.equal(watch.found[0]?.cause, "login-after-register");
  assert.match(watch.found[0]!.message, /try --profile firmware/);

  // With the firmware's XOR and NUL cnonce on top: online; OpenJabNab echoes no presence without `from`, and the
  // standard profile goes on after its bounded wait, then acts on a pushed packet.
  const world = labWorld("openjabnab");
  const rabbit = world.addRabbit({ mac: MAC, profile: "standard", registration: "stock", quirks: { "register-xor": true, "cnonce-nul": true } });
  world.run(120_000, () => online(rabbit));
  assert.ok(online(rabbit), `standard not online: ${rabbit.uart.slice(-5).join(" | ")}`);
  assert.ok(rabbit.uart.includes("no echo of our presence in 5 s: going on without it"));
  assert.ok(eventsOf(world, "unhandled").some((e) => /^Unable to handle bunny xmpp message : <presence id=/.test(String(e.what))));
  const frames = rabbit.reports.filter((r) => r.kind === "frame").length;
  assert.ok(world.lab.xmpp.sendPacket(MAC, ambientPacket({ nose: 1 })));
  world.run(2_000);
  assert.equal(rabbit.reports.filter((r) => r.kind === "frame").length, frames + 1);
});

test("presence-wait: with it (the firmware's way) a rabbit whose presence is not echoed waits for ever; without it, 5 s", () => {
  // OpenJabNab echoes only a presence with `from`: the standard profile's is left unanswered.
  const quirks = { "register-xor": true, "cnonce-nul": true };
  const world = labWorld("openjabnab");
  const waiting = world.addRabbit({ mac: MAC, profile: "standard", registration: "stock", quirks: { ...quirks, "presence-wait": true } });
  world.run(60_000, () => waiting.rabbit.state === "ssPresence" && eventsOf(world, "bound").some((e) => e.resource === "idle"));
  world.run(60_000);
  assert.equal(waiting.rabbit.state, "ssPresence");
  assert.ok(!waiting.uart.includes("no echo of our presence in 5 s: going on without it"));

  const other = labWorld("openjabnab");
  const going = other.addRabbit({ mac: MAC, profile: "standard", registration: "stock", quirks });
  other.run(60_000, () => going.rabbit.state === "ssPresence" && eventsOf(other, "bound").some((e) => e.resource === "idle"));
  const entered = other.scheduler.now();
  other.run(10_000, () => going.rabbit.state === "ssFree");
  assert.equal(going.rabbit.state, "ssFree");
  const waited = other.scheduler.now() - entered;
  assert.ok(waited >= 4_900 && waited <= 5_200, `went on after ${waited} ms`);
});

test("tolerant dialect: a stock-form firmware rabbit draws no note; the seed form and the standard profile draw OpenJabNab's refusals as notes", () => {
  const stock = labWorld("tolerant");
  const quiet = stock.addRabbit({ mac: MAC });
  stock.run(60_000, () => online(quiet));
  assert.ok(online(quiet));
  assert.deepEqual(eventsOf(stock, "strict-note"), []);

  const seed = labWorld("tolerant");
  const seeded = seed.addRabbit({ mac: MAC, registration: "seed" });
  seed.run(60_000, () => online(seeded));
  assert.ok(online(seeded), "the tolerant lab takes the seed's form");
  assert.deepEqual(eventsOf(seed, "strict-note").map((e) => e.note), ["accepted jabber:iq:register; OpenJabNab would close the stream (Bad Auth Step 1, disconnect)"]);

  const standard = labWorld("tolerant");
  const rfc = standard.addRabbit({ mac: MAC, profile: "standard" });
  standard.run(60_000, () => online(rfc));
  assert.ok(online(rfc));
  const notes = eventsOf(standard, "strict-note").map((e) => String(e.note));
  assert.ok(notes.some((note) => note.startsWith("accepted jabber:iq:register; OpenJabNab would close the stream")), notes.join("\n"));
});
