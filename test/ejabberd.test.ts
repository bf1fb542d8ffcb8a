// The rabbit against Debian's real ejabberd (platform.md §4.1, §5): the standard profile gets fully online and
// behaves; the firmware profile shows the seed's failure loop. Real time: the spec's 5-34 s reconnect delay is
// waited for, so the two rabbits run side by side.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { RabbitEvent } from "../host/observe.js";
import { startEjabberd, type Ejabberd } from "./servers/ejabberd.js";
import { startPlatform, watchRabbit, type Platform, type WatchedRabbit } from "./servers/rabbit-watch.js";
import { TestClient } from "./servers/xmpp-client.js";

const DOMAIN = "almacska";
const RECONNECT_MS = 34_000 + 20_000; // the spec's longest delay, and time to log in again

const uart = (line: string | RegExp) => (e: RabbitEvent) => e.event === "uart" && (typeof line === "string" ? e.line === line : line.test(String(e.line)));
const sent = (pattern: RegExp) => (e: RabbitEvent) => e.event === "out" && pattern.test(String(e.data));
const received = (pattern: RegExp) => (e: RabbitEvent) => e.event === "in" && pattern.test(String(e.data));
const http = (pattern: RegExp) => (e: RabbitEvent) => e.event === "http" && pattern.test(String(e.url));

/** A violet:packet built here byte by byte (platform.md §3): 7F, ambient frame 04 (header 7FFFFFFE, left ear 5, right ear 10, nose 1), FF. */
const AMBIENT = Buffer.from([0x7f, 0x04, 0x00, 0x00, 0x0a, 0x7f, 0xff, 0xff, 0xfe, 0x04, 0x05, 0x05, 0x0a, 0x08, 0x01, 0xff]);

describe("against ejabberd", { concurrency: 2 }, () => {
  let ejabberd: Ejabberd;
  let platform: Platform;
  const rabbits: WatchedRabbit[] = [];
  let client: TestClient | undefined;

  before(async () => {
    ejabberd = await startEjabberd(DOMAIN);
    platform = await startPlatform(DOMAIN, ejabberd.port);
  });

  after(async () => {
    client?.close();
    for (const rabbit of rabbits) rabbit.stop();
    await platform?.close();
    await ejabberd?.stop();
  });

  test("standard profile: registers, DIGEST-MD5, bind, presence, answers a ping, reports packet frames, reconnects after a kick", { timeout: 180_000 }, async () => {
    const rabbit = watchRabbit({ platform: platform.url, domain: DOMAIN, profile: "standard" });
    rabbits.push(rabbit);
    const jid = `${rabbit.mac}@${DOMAIN}/idle`;

    // Registration with the raw password, then a DIGEST-MD5 login with it.
    await rabbit.waitFor((e) => e.event === "online", 60_000, "online event");
    const online = rabbit.events.find((e) => e.event === "online")!;
    assert.equal(online.jid, jid);
    const setIndex = rabbit.indexOf(sent(/<query xmlns=["']jabber:iq:register["']><username>/));
    assert.ok(setIndex >= 0, "a register set was sent");
    const password = /<password>([0-9a-f]{12})<\/password>/.exec(String(rabbit.events[setIndex]!.data))?.[1];
    assert.ok(password, "the register set carries a 12-hex-digit password");
    assert.ok(rabbit.indexOf(received(/type='result' id='2'/), setIndex) > setIndex, "ejabberd accepted the registration");
    // ejabberd stores the password as registered (plain storage): an independent client logs in with it.
    const asRabbit = await TestClient.login(ejabberd.port, DOMAIN, rabbit.mac, password, "check");
    asRabbit.close();
    const auth = rabbit.indexOf(sent(/<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='DIGEST-MD5'/));
    assert.ok(auth >= 0, "DIGEST-MD5 chosen");
    const success = rabbit.indexOf(received(/<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/), auth);
    assert.ok(success > auth, "ejabberd sent <success/>");
    // One resource per stream, bound without `from`; the sources query gets service-unavailable, the rabbit goes on.
    assert.ok(rabbit.indexOf(received(/<jid>[0-9a-f]{12}@almacska\/boot<\/jid>/)) > success, "bound boot");
    assert.ok(rabbit.indexOf(received(/service-unavailable/)) > success, "sources query answered service-unavailable");
    assert.equal(rabbit.indexOf(sent(/<bind[^>]*>.*from=/)), -1);
    assert.ok(rabbit.indexOf(received(/<jid>[0-9a-f]{12}@almacska\/idle<\/jid>/)) > success, "bound idle");
    assert.ok(rabbit.indexOf(uart("Session opened!")) > success);
    const presence = rabbit.indexOf(sent(/^<presence/));
    assert.ok(presence > success, "presence sent");
    await rabbit.waitFor(received(/<presence[^>]*from='[0-9a-f]{12}@almacska\/idle'/), 10_000, "ejabberd's presence echo", presence);

    // A second client pings the rabbit and sends it a packet.
    await ejabberd.ctl("register", "tester", DOMAIN, "tester-password");
    client = await TestClient.login(ejabberd.port, DOMAIN, "tester", "tester-password");
    client.send(`<iq to='${jid}' type='get' id='ping-1'><ping xmlns='urn:xmpp:ping'/></iq>`);
    const answer = await client.waitFor(/<iq\b[^>]*\bid='ping-1'[^>]*\/?>/, 10_000);
    assert.match(answer[0], /type='result'/);
    assert.match(answer[0], new RegExp(`from='${jid.replace(/[./]/g, "\\$&")}'`));

    const beforeMessage = rabbit.events.length;
    client.send(`<message to='${jid}' id='packet-1'><packet xmlns='violet:packet' format='1.0' ttl='604800'>${AMBIENT.toString("base64")}</packet></message>`);
    const frame = await rabbit.waitFor((e) => e.event === "frame", 10_000, "a frame event", beforeMessage);
    assert.deepEqual(frame.services, [
      { service: "left ear", value: 5 },
      { service: "right ear", value: 10 },
      { service: "nose", value: 1 },
    ]);
    assert.equal(frame.type, "ambient");

    // ejabberd kicks the session: the rabbit sees the stream end and comes back after its reconnect delay.
    const beforeKick = rabbit.events.length;
    await ejabberd.ctl("kick_session", rabbit.mac, DOMAIN, "idle", "test kick");
    await rabbit.waitFor((e) => e.event === "closed", 10_000, "the kicked stream's close", beforeKick);
    const back = await rabbit.waitFor((e) => e.event === "online", RECONNECT_MS, "online again after the kick", beforeKick);
    assert.equal(back.jid, jid);
    assert.equal(rabbit.indexOf((e) => e.event === "reboot", beforeKick), -1, "reconnected, not rebooted");
    // The second login uses the stored password: no second registration.
    assert.equal(rabbit.indexOf(sent(/jabber:iq:register/), beforeKick), -1);
    assert.equal(rabbit.indexOf(http(/sendMailXMPP/)), -1, "no failure was reported");
  });

  test("firmware profile: register, login refused, FailureLogin, register again, conflict, FailureRegister2", { timeout: 180_000 }, async () => {
    const rabbit = watchRabbit({ platform: platform.url, domain: DOMAIN, profile: "firmware" });
    rabbits.push(rabbit);
    const report = (reason: string) => http(new RegExp(`/vl/sendMailXMPP\\.jsp\\?m=${rabbit.mac}&d=${DOMAIN}&r=${reason}&v=18673$`));

    // Nothing in flash: register (both steps), then DIGEST-MD5 on the same stream with the firmware's quirks.
    const failureLogin = await rabbit.waitFor(report("FailureLogin"), 60_000, "the FailureLogin report");
    const first = rabbit.events.indexOf(failureLogin);
    const order = [
      uart("No password (or not good) : start register"),
      sent(/^<iq type='get' id='1'><query xmlns='jabber:iq:register'\/><\/iq>$/),
      sent(/^<iq to='almacska' type='set' id='2'><query xmlns="jabber:iq:register"><username>[0-9a-f]{12}<\/username><password>[0-9a-f]{12}<\/password><name>/),
      uart("Register succeeded"),
      sent(/^<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='DIGEST-MD5'\/>$/),
      received(/<challenge/),
      sent(/^<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>/),
      received(/<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><(not-authorized|malformed-request)\/>/),
      uart("Failure to login. Warn server and re-register"),
    ];
    let at = -1;
    for (const [i, step] of order.entries()) {
      const next = rabbit.indexOf(step, at + 1);
      assert.ok(next > at && next < first, `step ${i + 1} of the failed login happens in order, before the report`);
      at = next;
    }

    // 5-34 s later, a new stream: register again. The account exists: conflict, FailureRegister2, the red state.
    const failureRegister = await rabbit.waitFor(report("FailureRegister2"), RECONNECT_MS, "the FailureRegister2 report", first);
    const second = rabbit.events.indexOf(failureRegister);
    const register = rabbit.indexOf(sent(/<iq to='almacska' type='set' id='2'><query xmlns="jabber:iq:register">/), first);
    assert.ok(register > first && register < second, "registered again after the failed login");
    assert.ok(rabbit.indexOf(received(/<conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'\/>/), register) < second);
    await rabbit.waitFor((e) => e.event === "status" && e.status === "registration-error", 5_000, "the registration-error state", register);
    assert.equal(rabbit.indexOf((e) => e.event === "online"), -1, "never online");

    // The stand-in platform received the same reports (the GETs are fire-and-forget: give them a moment to land).
    const reports = () => platform.requests.filter((r) => r.startsWith(`/vl/sendMailXMPP.jsp?m=${rabbit.mac}&`)).map((r) => /r=(\w+)/.exec(r)?.[1]);
    for (let i = 0; i < 50 && reports().length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(reports(), ["FailureLogin", "FailureRegister2"]);
  });
});
