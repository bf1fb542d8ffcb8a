// The rabbit against Debian's real ejabberd (platform.md §4.1, §5): the standard profile gets fully online with
// DIGEST-MD5 and with SCRAM-SHA-1 (its own choice) and behaves; the firmware profile shows the seed's failure loop.
// Real time: the spec's 5-34 s reconnect delay is waited for, so the rabbits run side by side.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startEjabberd, type Ejabberd } from "./servers/ejabberd.js";
import { startPlatform, watchRabbit, type Platform, type WatchedRabbit } from "./servers/rabbit-watch.js";
import { answersSecondClient, http, inOrder, received, RECONNECT_MS, sent, standardOnline, uart } from "./servers/scenarios.js";
import { TestClient } from "./servers/xmpp-client.js";

const DOMAIN = "almacska";

describe("against ejabberd", { concurrency: 3 }, () => {
  let ejabberd: Ejabberd;
  let platform: Platform;
  const rabbits: WatchedRabbit[] = [];
  const clients: TestClient[] = [];

  before(async () => {
    ejabberd = await startEjabberd(DOMAIN);
    platform = await startPlatform(DOMAIN, ejabberd.port);
    await ejabberd.ctl("register", "tester", DOMAIN, "tester-password");
  });

  after(async () => {
    for (const client of clients) client.close();
    for (const rabbit of rabbits) rabbit.stop();
    await platform?.close();
    await ejabberd?.stop();
  });

  test("standard profile, DIGEST-MD5: registers, logs in, presence, answers a ping, reports packet frames, reconnects after a kick", { timeout: 180_000 }, async () => {
    const rabbit = watchRabbit({ platform: platform.url, domain: DOMAIN, profile: "standard", registration: "binary", sasl: "DIGEST-MD5" });
    rabbits.push(rabbit);
    const { jid, password } = await standardOnline(rabbit, DOMAIN, "DIGEST-MD5");
    // ejabberd stores the password as registered (plain storage): an independent client logs in with it.
    (await TestClient.login(ejabberd.port, DOMAIN, rabbit.mac, password, "check")).close();

    const client = await TestClient.login(ejabberd.port, DOMAIN, "tester", "tester-password", "digest");
    clients.push(client);
    await answersSecondClient(rabbit, client, jid);

    // ejabberd kicks the session: the rabbit sees the stream end and comes back after its reconnect delay.
    const beforeKick = rabbit.events.length;
    await ejabberd.ctl("kick_session", rabbit.mac, DOMAIN, "idle", "test kick");
    await rabbit.waitFor((e) => e.event === "closed", 10_000, "the kicked stream's close", beforeKick);
    const back = await rabbit.waitFor((e) => e.event === "online", RECONNECT_MS, "online again after the kick", beforeKick);
    assert.equal(back.jid, jid);
    assert.equal(rabbit.indexOf((e) => e.event === "reboot", beforeKick), -1, "reconnected, not rebooted");
    // The second login uses the stored password: no second registration.
    assert.equal(rabbit.indexOf(sent(/jabber:iq:register/), beforeKick), -1);
    assert.ok(rabbit.indexOf(sent(/mechanism='DIGEST-MD5'/), beforeKick) > beforeKick);
    assert.equal(rabbit.indexOf(http(/sendMailXMPP/)), -1, "no failure was reported");
  });

  test("standard profile, its own choice among ejabberd's mechanisms: SCRAM-SHA-1; then a ping and a packet", { timeout: 120_000 }, async () => {
    const rabbit = watchRabbit({ platform: platform.url, domain: DOMAIN, profile: "standard", registration: "binary" });
    rabbits.push(rabbit);
    const { jid } = await standardOnline(rabbit, DOMAIN, "SCRAM-SHA-1");
    assert.ok(rabbit.indexOf(uart("SASL mechanism: SCRAM-SHA-1")) >= 0);
    const client = await TestClient.login(ejabberd.port, DOMAIN, "tester", "tester-password", "scram");
    clients.push(client);
    await answersSecondClient(rabbit, client, jid);
  });

  test("firmware profile: register, login refused, FailureLogin, register again, conflict, FailureRegister2", { timeout: 180_000 }, async () => {
    const rabbit = watchRabbit({ platform: platform.url, domain: DOMAIN, profile: "firmware", registration: "seed" });
    rabbits.push(rabbit);
    const report = (reason: string) => http(new RegExp(`/vl/sendMailXMPP\\.jsp\\?m=${rabbit.mac}&d=${DOMAIN}&r=${reason}&v=18673$`));

    // Nothing in flash: register (both steps), then DIGEST-MD5 on the same stream with the firmware's quirks.
    const failureLogin = await rabbit.waitFor(report("FailureLogin"), 60_000, "the FailureLogin report");
    const first = rabbit.events.indexOf(failureLogin);
    inOrder(rabbit, [
      ["register", uart("No password (or not good) : start register")],
      ["register get", sent(/^<iq type='get' id='1'><query xmlns='jabber:iq:register'\/><\/iq>$/)],
      ["register set", sent(/^<iq to='almacska' type='set' id='2'><query xmlns="jabber:iq:register"><username>[0-9a-f]{12}<\/username><password>[0-9a-f]{12}<\/password><name>/)],
      ["registered", uart("Register succeeded")],
      ["auth", sent(/^<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='DIGEST-MD5'\/>$/)],
      ["challenge", received(/<challenge/)],
      ["response", sent(/^<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>/)],
      ["failure", received(/<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><(not-authorized|malformed-request)\/>/)],
      ["failure logged", uart("Failure to login. Warn server and re-register")],
    ], 0, first);

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

  test("firmware profile, stock form (violet:iq:register): ejabberd ends the stream with not-authorized, the rabbit reboots", { timeout: 60_000 }, async () => {
    const rabbit = watchRabbit({ platform: platform.url, domain: DOMAIN, profile: "firmware", registration: "stock" });
    rabbits.push(rabbit);
    const get = await rabbit.waitFor(sent(/^<iq type='get' id='1'><query xmlns='violet:iq:register'\/><\/iq>$/), 30_000, "the stock register get");
    const from = rabbit.events.indexOf(get);
    await rabbit.waitFor(received(/<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'\/>/), 10_000, "the stream error", from);
    await rabbit.waitFor((e) => e.event === "reboot", 10_000, "the reboot", from);
    assert.equal(rabbit.indexOf(sent(/type='set'/), from), -1, "no register set after the refusal");
  });
});
