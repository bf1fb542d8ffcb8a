// Fault paths (spec §6, §7, §10): each ends in the profile's behaviour (reboot, reconnect after the delay, or the
// red registration-error state), with the flash intact.

import assert from "node:assert/strict";
import { test } from "node:test";
import type { Profile } from "../host/quirks.js";
import { base64, digest, DOMAIN, MAC, parseDirectives, ScriptedServer, unbase64, virtualRabbit, type Step } from "./harness.js";
import { happyPathSteps } from "./scripts.js";

const JID = `${MAC}@${DOMAIN}`;
const HEADER = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='1' from='almacska' version='1.0'>";
const PRE_AUTH = "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>DIGEST-MD5</mechanism></mechanisms><register xmlns='http://jabber.org/features/iq-register'/></stream:features>";
const POST_AUTH = "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></stream:features>";
const STREAM_HEADER = /^<\?xml version='1\.0' encoding='UTF-8'\?>\n<stream:stream to='almacska'/;
const NONCE = "7463194201";
const PASSWORD = "1a2b3c4d5e6f";

/** The standard profile's path with a stored password: login, bind boot, sources, then (new stream) idle. */
function standardSteps(state: { password: string }): Step[] {
  const login = (label: string): Step[] => [
    { label: `${label}: header`, expect: STREAM_HEADER, reply: HEADER + PRE_AUTH },
    { label: `${label}: auth`, expect: /^<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='DIGEST-MD5'\/>$/, reply: `<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>${base64(`realm="almacska",nonce="${NONCE}",qop="auth,auth-int",charset=utf-8,algorithm=md5-sess`)}</challenge>` },
    {
      label: `${label}: response`,
      expect: /^<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>([A-Za-z0-9+/]+={0,2})<\/response>$/,
      reply: (_stanza, match) => {
        assert.equal(match[1]!.length % 4, 0, "RFC 4648 padding");
        const d = parseDirectives(unbase64(match[1]!));
        assert.match(d.cnonce!, /^[0-9a-f]{16}$/, "a random cnonce, no NUL");
        const inputs = { username: MAC, realm: "almacska", password: state.password, nonce: NONCE, cnonce: d.cnonce!, digestUri: "xmpp/almacska" };
        if (d.response !== digest(inputs, "AUTHENTICATE:")) return "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>";
        return `<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>${base64(`rspauth=${digest(inputs, ":")}`)}</challenge>`;
      },
    },
    { label: `${label}: rspauth`, expect: /^<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'\/>$/, reply: "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>" },
    { label: `${label}: restart`, expect: STREAM_HEADER, reply: HEADER + POST_AUTH },
  ];
  return [
    ...login("boot"),
    { label: "bind boot, no from", expect: /^<iq type='set' id='1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>boot<\/resource><\/bind><\/iq>$/, reply: `<iq id='1' type='result'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>${JID}/boot</jid></bind></iq>` },
    { label: "session", expect: /^<iq to='almacska' type='set' id='2'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'\/><\/iq>$/, reply: "<iq type='result' id='2'/>" },
    { label: "sources", expect: /^<iq to='net\.violet\.platform@almacska\/sources' type='get' id='3'>/, reply: `<iq from='net.violet.platform@almacska/sources' to='${JID}/boot' id='3' type='result'><query xmlns='violet:iq:sources'><packet xmlns='violet:packet' format='1.0'>fwsAAAEA/w==</packet></query></iq>` },
    { label: "one resource per stream: close", expect: /^<\/stream:stream>$/ },
    ...login("idle"),
    { label: "bind idle", expect: /^<iq type='set' id='1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>idle<\/resource><\/bind><\/iq>$/, reply: `<iq id='1' type='result'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>${JID}/idle</jid></bind></iq>` },
    { label: "session idle", expect: /^<iq to='almacska' type='set' id='2'>/, reply: "<iq type='result' id='2'/>" },
    { label: "presence", expect: /^<presence id='3'><\/presence>$/, reply: `<presence from='${JID}/idle' id='3'/>` },
  ];
}

test("standard rabbit: logs in (RFC 2831), binds boot, asks for sources, then takes idle on a new stream", () => {
  const { rabbit, network, recorded, run } = virtualRabbit({ profile: "standard", password: PASSWORD });
  const server = new ScriptedServer(network, standardSteps({ password: PASSWORD }));
  rabbit.start();
  run(120_000, () => server.done || server.failures.length > 0);
  assert.deepEqual(server.failures, []);
  assert.ok(server.done, `the script stopped at ${server.position}`);
  assert.equal(rabbit.status, "opened");
  assert.equal(server.received.length, 2, "two connections: boot, then idle");
  assert.deepEqual(recorded.reports.filter((r) => r.kind === "online").map((r) => r.text), [`${JID}/idle`]);
  assert.equal(recorded.reboots, 0);
});

/** Runs a script that goes wrong, then watches the rabbit for `watchMs` of virtual time. */
function afterFault(profile: Profile, steps: Step[], password?: string, watchMs = 60_000) {
  const setup = virtualRabbit({ profile, password });
  const server = new ScriptedServer(setup.network, steps);
  const flashBefore = setup.flash.bytes.slice();
  setup.rabbit.start();
  setup.run(30_000, () => server.done || server.failures.length > 0);
  assert.deepEqual(server.failures, []);
  assert.ok(server.done, `the script stopped at ${server.position}`);
  const connectionsAtFault = server.received.length;
  const faultAt = setup.scheduler.now();
  const connectionTimes: number[] = [];
  setup.network.listen("10.0.0.1", 5222, () => connectionTimes.push(setup.scheduler.now() - faultAt));
  setup.run(watchMs);
  return { ...setup, server, flashBefore, connectionsAtFault, connectionTimes };
}

/** The flash changed only where the password lives, if at all. */
function assertFlashIntact(flash: { bytes: Uint8Array }, before: Uint8Array): void {
  for (let i = 0; i < before.length; i++) {
    if (i >= 208 && i <= 220) continue;
    assert.equal(flash.bytes[i], before[i], `flash byte ${i}`);
  }
}

test("the server closing the socket at each step: firmware reboots, standard reconnects after the delay", () => {
  const firmwareSteps = happyPathSteps({});
  for (let cut = 0; cut < firmwareSteps.length; cut++) {
    const credentials: { password?: string } = {};
    const steps = happyPathSteps(credentials).slice(0, cut + 1);
    steps[cut] = { ...steps[cut]!, reply: undefined, close: true };
    const result = afterFault("firmware", steps, undefined, 20_000);
    assert.ok(result.recorded.reboots >= 1, `cut at ${steps[cut]!.label}: reboots`);
    assert.ok(result.recorded.reports.some((r) => r.kind === "reboot" && r.text === "connection closed"));
    assertFlashIntact(result.flash, result.flashBefore);
    // Registered before the close: the password is in flash; else there is none.
    assert.equal(result.flash.password(), cut >= 3 ? credentials.password : undefined, `cut at ${steps[cut]!.label}: flash password`);
  }
  const standard = standardSteps({ password: PASSWORD });
  for (let cut = 0; cut < standard.length; cut++) {
    if (standard[cut]!.label === "one resource per stream: close") continue;
    const steps = standardSteps({ password: PASSWORD }).slice(0, cut + 1);
    steps[cut] = { ...steps[cut]!, reply: undefined, close: true };
    const result = afterFault("standard", steps, PASSWORD);
    assert.equal(result.recorded.reboots, 0, `cut at ${steps[cut]!.label}`);
    assert.ok(result.connectionTimes.length >= 1, `cut at ${steps[cut]!.label}: reconnected`);
    const first = result.connectionTimes[0]!;
    assert.ok(first >= 5000 && first <= 35_000, `cut at ${steps[cut]!.label}: reconnected after ${first} ms`);
    assertFlashIntact(result.flash, result.flashBefore);
    assert.equal(result.flash.password(), PASSWORD);
  }
});

test("<failure>: FailureLogin is reported and the next connection registers (both profiles)", () => {
  for (const profile of ["firmware", "standard"] as const) {
    const steps: Step[] = [
      { expect: STREAM_HEADER, reply: HEADER + PRE_AUTH },
      { expect: /^<auth /, reply: "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>" },
    ];
    const result = afterFault(profile, steps, PASSWORD, 45_000);
    assert.ok(result.recorded.http.some((url) => url === `127.0.0.1:8080/vl/sendMailXMPP.jsp?m=${MAC}&d=almacska&r=FailureLogin&v=18673`), profile);
    assert.ok(result.recorded.uart.includes("Failure to login. Warn server and re-register"));
    assert.ok(result.connectionTimes.length >= 1 && result.connectionTimes[0]! >= 5000, `${profile}: reconnects after the delay`);
    assert.equal(result.recorded.reboots, 0);
    assert.equal(result.flash.password(), PASSWORD, "the flash keeps the password");
  }
});

test("failure-reregister, in both profiles (the spec keeps it in standard): after a refused login the next connection registers", () => {
  for (const profile of ["firmware", "standard"] as const) {
    const setup = virtualRabbit({ profile, password: PASSWORD });
    const server = new ScriptedServer(setup.network, [
      { expect: STREAM_HEADER, reply: HEADER + PRE_AUTH },
      { expect: /^<auth /, reply: "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>" },
      { expect: STREAM_HEADER, reply: HEADER + PRE_AUTH },
      { label: "register get", expect: /^<iq type='get' id='1'><query xmlns='(violet|jabber):iq:register'\/><\/iq>$/ },
    ]);
    setup.rabbit.start();
    setup.run(60_000, () => server.done || server.failures.length > 0);
    assert.deepEqual(server.failures, [], profile);
    assert.ok(server.done, `${profile}: stopped at ${server.position}`);
    assert.equal(server.received.length, 2, `${profile}: on the next connection`);
  }
});

test("the login watchdog: 12 s from <auth> without success, then a disconnect (a server that stays silent mid-SASL)", () => {
  for (const profile of ["firmware", "standard"] as const) {
    const steps: Step[] = [{ expect: STREAM_HEADER, reply: HEADER + PRE_AUTH }, { expect: /^<auth / }];
    const result = afterFault(profile, steps, PASSWORD, 20_000);
    const at = (pattern: RegExp) => Number(/^ *(\d+)/.exec(result.recorded.transcript.find((line) => pattern.test(line)) ?? "")?.[1] ?? NaN);
    const auth = at(/sent#\d+ "<auth /);
    const watchdog = at(/\[vm\] login watchdog$/);
    assert.ok(watchdog - auth >= 12_000 && watchdog - auth <= 12_100, `${profile}: the watchdog after ${watchdog - auth} ms`);
  }
});

test("a register error at step 1 or step 2: the report, then the red registration-error state, no reconnect", () => {
  for (const profile of ["firmware", "standard"] as const) {
    for (const step of [1, 2]) {
      const error = (id: number) => `<iq type='error' id='${id}'><error type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`;
      const steps: Step[] = [
        { expect: STREAM_HEADER, reply: HEADER + PRE_AUTH },
        { expect: /^<iq type='get' id='1'>/, reply: step === 1 ? error(1) : "<iq type='result' id='1'></iq>" },
      ];
      if (step === 2) steps.push({ expect: /^<iq to='almacska' type='set' id='2'>/, reply: error(2) });
      const result = afterFault(profile, steps, undefined, 60_000);
      assert.ok(result.recorded.http.some((url) => url.endsWith(`&r=FailureRegister${step}&v=18673`)), `${profile} step ${step}`);
      assert.ok(result.recorded.uart.includes(step === 1 ? "Error registering phase1" : "error registering phase2"));
      assert.equal(result.rabbit.status, "registration-error");
      assert.equal(result.recorded.leds.get(0), 0xff0000, "red");
      assert.deepEqual(result.connectionTimes, [], "no reconnect");
      assert.equal(result.recorded.reboots, 0);
      assert.equal(result.flash.password(), undefined, "nothing stored");
    }
  }
});

test("a challenge with qop=\"auth-int\" or a wrong rspauth: firmware stays silent (watchdog), standard aborts and takes the answer to its abort as no refusal", () => {
  const challenges = {
    "auth-int": () => `<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>${base64(`nonce="${NONCE}",qop="auth-int",charset=utf-8,algorithm=md5-sess`)}</challenge>`,
  };
  for (const profile of ["firmware", "standard"] as const) {
    for (const fault of ["auth-int", "rspauth"] as const) {
      const steps: Step[] = [
        { expect: STREAM_HEADER, reply: HEADER + PRE_AUTH },
        {
          expect: /^<auth /,
          reply: fault === "auth-int" ? challenges["auth-int"]() : `<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>${base64(`nonce="${NONCE}",qop="auth",charset=utf-8,algorithm=md5-sess`)}</challenge>`,
        },
      ];
      if (fault === "rspauth") {
        steps.push({ expect: /^<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>/, reply: `<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>${base64(`rspauth=${"0".repeat(32)}`)}</challenge>` });
      }
      if (profile === "standard") steps.push({ expect: /^<abort xmlns='urn:ietf:params:xml:ns:xmpp-sasl'\/>$/, reply: "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><aborted/></failure>" });
      const result = afterFault(profile, steps, PASSWORD, 60_000);
      const after = result.server.received[0]!.slice(steps.length);
      if (profile === "firmware") {
        assert.deepEqual(after, [], `${fault}: nothing more was sent`);
        assert.ok(result.recorded.uart.includes("login watchdog"), `${fault}: the watchdog acted`);
        if (fault === "rspauth") assert.ok(result.recorded.uart.includes("BAD rspauth"));
      } else {
        // The server's <failure><aborted/> answers the rabbit's own <abort/>: not a refused login, no report.
        assert.ok(result.recorded.uart.includes("SASL aborted: the server did not prove it knows the password; trying again later"));
        assert.ok(!result.recorded.uart.includes("Failure to login. Warn server and re-register"));
        assert.ok(!result.recorded.http.some((url) => url.includes("sendMailXMPP")), `${fault}: no FailureLogin report`);
      }
      assert.ok(result.connectionTimes.length >= 1, `${profile} ${fault}: reconnects after the delay`);
      assert.equal(result.recorded.reboots, 0);
      assert.equal(result.flash.password(), PASSWORD);
    }
  }
});

test("an oversized stanza: firmware runs out of memory (reboot), standard says policy-violation and reconnects", () => {
  for (const profile of ["firmware", "standard"] as const) {
    const credentials = { password: PASSWORD };
    const steps = profile === "firmware"
      ? [...happyPathSteps(credentials).slice(0, 1)]
      : [...standardSteps(credentials).slice(0, 1)];
    steps[0] = { ...steps[0]!, reply: HEADER + PRE_AUTH.replace("</stream:features>", `<big>${"x".repeat(20_000)}</big></stream:features>`) };
    if (profile === "standard") steps.push({ expect: /^<stream:error><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'\/><\/stream:error>/ });
    const result = afterFault(profile, steps, PASSWORD, 40_000);
    if (profile === "firmware") {
      assert.ok(result.recorded.reboots >= 1);
      assert.ok(result.recorded.reports.some((r) => r.kind === "reboot" && r.text === "out of memory"));
    } else {
      assert.equal(result.recorded.reboots, 0);
      assert.ok(result.connectionTimes.length >= 1 && result.connectionTimes[0]! >= 5000);
    }
    assert.ok(result.recorded.reports.some((r) => r.kind === "error" && /too large|queue full/.test(r.text)));
    assertFlashIntact(result.flash, result.flashBefore);
    assert.equal(result.flash.password(), PASSWORD);
  }
});

test("a server that accepts and says nothing, or stops after the header or during registration: the reason is logged and the rabbit reconnects within 60 s + the reconnect delay (both profiles)", () => {
  const silentAt: Record<string, Step[]> = {
    "from the start": [{ expect: STREAM_HEADER }],
    "after its header": [{ expect: STREAM_HEADER, reply: HEADER }],
    "during registration": [{ expect: STREAM_HEADER, reply: HEADER + PRE_AUTH }, { expect: /:iq:register/ }],
  };
  for (const profile of ["firmware", "standard"] as const) {
    for (const [where, steps] of Object.entries(silentAt)) {
      const setup = virtualRabbit({ profile });
      const server = new ScriptedServer(setup.network, steps);
      setup.rabbit.start();
      setup.run(30_000, () => server.done);
      assert.ok(server.done, `${profile} ${where}: the script stopped at ${server.position}`);
      const connectedBefore = server.received.length;
      setup.run(60_000 + 35_000, () => server.received.length > connectedBefore);
      assert.ok(setup.recorded.uart.includes("no session 60 s after connecting: the server is silent or stuck; reconnecting"), `${profile} ${where}`);
      assert.ok(setup.recorded.reports.some((r) => r.kind === "error" && r.text === "no session within 60 s of connecting"));
      assert.ok(server.received.length > connectedBefore, `${profile} ${where}: connected again`);
      assert.equal(setup.recorded.reboots, 0);
    }
  }
});

test("a stanza cut between two reads stays in its slot while the queue empties in between (standard, presence echo late)", () => {
  // The presence is not echoed; a message the presence state does not take waits in the queue (slot 0), and the next
  // one is cut in the middle (slot 1). After 5 s the rabbit goes on without the echo and empties the queue, freeing
  // slot 0: the rest of the cut message must still go where its start is.
  const steps = standardSteps({ password: PASSWORD });
  const presence = steps.pop()!;
  steps.push({ ...presence, reply: `<message id='first' from='a@${DOMAIN}'><body>one</body></message><message id='second' from='b@${DOMAIN}'><bo` });
  const { rabbit, network, recorded, run } = virtualRabbit({ profile: "standard", password: PASSWORD });
  const server = new ScriptedServer(network, steps);
  rabbit.start();
  run(120_000, () => server.done || server.failures.length > 0);
  assert.deepEqual(server.failures, []);
  run(6_000);
  assert.ok(recorded.uart.includes("no echo of our presence in 5 s: going on without it"));
  server.peer!.write("dy>two</body></message>");
  run(1_000);
  const dumps = recorded.uart.join("\n");
  // The last stanza received is the second message whole (the dump shows elements and attributes, not text).
  const last = dumps.slice(dumps.lastIndexOf("|message"));
  assert.match(last, /^\|message\n {4}\| id => second\n {4}\| from => b@almacska\n {4}\|\.\.body(\n|$)/, dumps.slice(-600));
  assert.doesNotMatch(last, /\|\.\.body\n {4}\|\.\.body/);
});
