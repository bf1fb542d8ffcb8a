// The rabbit against Debian's real Prosody (platform.md §4.2, §5), which offers only SCRAM (no DIGEST-MD5, and no
// PLAIN without TLS): the standard profile logs in with SCRAM-SHA-1 and behaves; a wrong stored password is a clean
// failure; the firmware profile asks for DIGEST-MD5, gets invalid-mechanism and follows the seed's failure path.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Flash } from "../host/vm/flash.js";
import { startProsody, type Prosody } from "./servers/prosody.js";
import { randomMac, startPlatform, watchRabbit, type Platform, type WatchedRabbit } from "./servers/rabbit-watch.js";
import { answersSecondClient, http, inOrder, received, RECONNECT_MS, sent, standardOnline, uart } from "./servers/scenarios.js";
import { TestClient } from "./servers/xmpp-client.js";

const DOMAIN = "almacska";

describe("against Prosody", { concurrency: 3 }, () => {
  let prosody: Prosody;
  let platform: Platform;
  const rabbits: WatchedRabbit[] = [];
  const clients: TestClient[] = [];
  const directory = mkdtempSync(join(tmpdir(), "nabaztag-prosody-test-"));

  before(async () => {
    prosody = await startProsody(DOMAIN);
    platform = await startPlatform(DOMAIN, prosody.port);
  });

  after(async () => {
    for (const client of clients) client.close();
    for (const rabbit of rabbits) rabbit.stop();
    await platform?.close();
    await prosody?.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  const watch = (options: Omit<Parameters<typeof watchRabbit>[0], "platform" | "domain">) => {
    const rabbit = watchRabbit({ platform: platform.url, domain: DOMAIN, ...options });
    rabbits.push(rabbit);
    return rabbit;
  };
  const report = (rabbit: WatchedRabbit, reason: string) => http(new RegExp(`/vl/sendMailXMPP\\.jsp\\?m=${rabbit.mac}&d=${DOMAIN}&r=${reason}&v=18673$`));

  test("standard profile: registers, SCRAM-SHA-1, bind, presence, answers a ping, reports packet frames", { timeout: 120_000 }, async () => {
    const rabbit = watch({ profile: "standard", registration: "binary" });
    const { jid, password } = await standardOnline(rabbit, DOMAIN, "SCRAM-SHA-1");
    assert.equal(rabbit.indexOf(uart(/^SCRAM: /)), -1, "no SCRAM complaint");
    // An independent SCRAM client logs in with the password the rabbit registered.
    (await TestClient.login(prosody.port, DOMAIN, rabbit.mac, password, "check")).close();

    await TestClient.register(prosody.port, DOMAIN, "tester", "tester-password");
    const client = await TestClient.login(prosody.port, DOMAIN, "tester", "tester-password");
    clients.push(client);
    await answersSecondClient(rabbit, client, jid);
  });

  test("standard profile, a wrong password in flash: SCRAM fails cleanly, FailureLogin is reported", { timeout: 120_000 }, async () => {
    const mac = randomMac();
    const flashFile = join(directory, `${mac}.flash`);
    const first = watch({ profile: "standard", registration: "binary", mac, flashFile });
    const { password } = await standardOnline(first, DOMAIN, "SCRAM-SHA-1");
    first.stop();

    // The same rabbit, its flash now holding another password.
    const flash = new Flash(flashFile);
    const wrong = password.replace(/^./, (c) => (c === "0" ? "1" : "0"));
    flash.setPassword(wrong);
    const rabbit = watch({ profile: "standard", registration: "binary", mac, flashFile });
    const failed = await rabbit.waitFor(report(rabbit, "FailureLogin"), 30_000, "the FailureLogin report");
    inOrder(rabbit, [
      ["login with the stored password", uart("Start login")],
      ["SCRAM chosen", uart("SASL mechanism: SCRAM-SHA-1")],
      ["client-first", sent(/^<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>[A-Za-z0-9+/=]+<\/auth>$/)],
      ["server-first", received(/<challenge/)],
      ["client-final", sent(/^<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>[A-Za-z0-9+/=]+<\/response>$/)],
      ["refused", received(/<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized\/>/)],
      ["logged", uart("Failure to login. Warn server and re-register")],
    ], 0, rabbit.events.indexOf(failed));
    assert.equal(rabbit.indexOf((e) => e.event === "online"), -1, "not online");
    assert.equal(rabbit.indexOf((e) => e.event === "reboot"), -1, "no reboot");
    await rabbit.waitFor((e) => e.event === "status" && e.status === "closed", 5_000, "the closed status");
    assert.equal(new Flash(flashFile).password(), wrong, "the flash is intact");
  });

  test("firmware profile: DIGEST-MD5 anyway, invalid-mechanism, FailureLogin, then register again", { timeout: 180_000 }, async () => {
    const rabbit = watch({ profile: "firmware", registration: "seed" });
    const failureLogin = await rabbit.waitFor(report(rabbit, "FailureLogin"), 60_000, "the FailureLogin report");
    const first = rabbit.events.indexOf(failureLogin);
    inOrder(rabbit, [
      ["register", uart("No password (or not good) : start register")],
      ["register set", sent(/^<iq to='almacska' type='set' id='2'><query xmlns="jabber:iq:register"><username>/)],
      ["registered", uart("Register succeeded")],
      ["auth, whatever is offered", sent(/^<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='DIGEST-MD5'\/>$/)],
      ["invalid-mechanism", received(/<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><invalid-mechanism\/>/)],
      ["logged", uart("Failure to login. Warn server and re-register")],
    ], 0, first);
    assert.equal(rabbit.indexOf(received(/<challenge/)), -1, "no challenge ever");

    // 5-34 s later, the seed's next step: a new stream and a new registration.
    const again = await rabbit.waitFor(sent(/^<iq type='get' id='1'><query xmlns='jabber:iq:register'\/><\/iq>$/), RECONNECT_MS, "the second registration", first);
    assert.ok(rabbit.events.indexOf(again) > first);
    assert.equal(rabbit.indexOf((e) => e.event === "online"), -1, "never online");
  });

  test("firmware profile, stock form (violet:iq:register): service-unavailable, FailureRegister1, the red state", { timeout: 60_000 }, async () => {
    const rabbit = watch({ profile: "firmware", registration: "stock" });
    const get = await rabbit.waitFor(sent(/^<iq type='get' id='1'><query xmlns='violet:iq:register'\/><\/iq>$/), 30_000, "the stock register get");
    const from = rabbit.events.indexOf(get);
    await rabbit.waitFor(received(/<service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'\/>/), 10_000, "the error", from);
    await rabbit.waitFor(report(rabbit, "FailureRegister1"), 10_000, "the FailureRegister1 report", from);
    await rabbit.waitFor((e) => e.event === "status" && e.status === "registration-error", 5_000, "the registration-error state", from);
  });
});
