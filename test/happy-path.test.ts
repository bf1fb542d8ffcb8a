// The firmware rabbit through the spec's whole happy path, against a server scripted stanza by stanza as
// platform.md §2.6 gives it: register, login with rspauth, bind "boot" (malformed from), session, sources with an
// init packet, bind "idle", session, presence, unbind "boot"; then a sleep packet and a ping.

import assert from "node:assert/strict";
import { test } from "node:test";
import { ScriptedServer, virtualRabbit } from "./harness.js";
import { happyPathSteps, JID, SLEEP_PACKET } from "./scripts.js";

test("firmware rabbit: the whole happy path, then a sleep packet (rebinds asleep) and a ping (answered)", () => {
  const { rabbit, network, flash, recorded, run } = virtualRabbit({ profile: "firmware" });
  const credentials: { password?: string } = {};
  const server = new ScriptedServer(network, [
    ...happyPathSteps(credentials),
    {
      label: "sleep packet",
      reply: `<message from='net.openjabnab.platform@almacska/services' to='${JID}/idle' id='OJaNa-1'><packet xmlns='violet:packet' format='1.0' ttl='604800'>${SLEEP_PACKET}</packet></message>`,
    },
    {
      label: "bind asleep",
      expect: new RegExp(`^<iq from="${JID}/idle" to="almacska" type='set' id='8'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>asleep</resource></bind></iq>$`),
      reply: `<iq id='8' type='result'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>${JID}/asleep</jid></bind></iq>`,
    },
    {
      label: "session as asleep",
      expect: new RegExp(`^<iq from='${JID}/asleep' to='almacska' type='set' id='9'>`),
      reply: `<iq type='result' to='${JID}/asleep' from='almacska' id='9'/>`,
    },
    { label: "presence asleep", expect: new RegExp(`^<presence from='${JID}/asleep' id='10'></presence>$`), reply: `<presence from='${JID}/asleep'/>` },
    {
      label: "unbind idle",
      expect: new RegExp(`^<iq from='${JID}/idle' to='almacska' type='set' id='11'><unbind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>idle</resource></unbind></iq>$`),
      reply: "<iq id='11' type='result'></iq>",
    },
    { label: "server ping", reply: `<iq from='almacska' to='${JID}/asleep' type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>` },
    { label: "ping answered", expect: new RegExp(`^<iq from='${JID}/asleep' to='almacska' type='result' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>$`) },
  ]);
  rabbit.start();
  run(60_000, () => server.done || server.failures.length > 0);
  assert.deepEqual(server.failures, []);
  assert.ok(server.done, `the script stopped at ${server.position}`);
  assert.equal(rabbit.status, "opened");
  assert.equal(rabbit.state, "ssFree");
  assert.equal(recorded.reboots, 0);
  // The password the platform de-obfuscated is the one in flash (one write, after registering).
  assert.equal(flash.password(), credentials.password);
  assert.equal(recorded.flashWrites, 1);
  // Online once, as idle (not as boot), then as asleep.
  assert.deepEqual(recorded.reports.filter((r) => r.kind === "online").map((r) => r.text), [`${JID}/idle`, `${JID}/asleep`]);
  // The init packet's frames were reported: ambient (ears 0/0, nose 0) and wake; then the sleep frame.
  const frames = recorded.reports.filter((r) => r.kind === "frame").map((r) => Buffer.from(r.bytes).toString("hex"));
  assert.deepEqual(frames, ["047ffffffe040005000800", "0b00", "0b01"]);
  for (const line of ["No password (or not good) : start register", "Register succeeded", "snd start login", "rcv success, snd reopen stream", "Session opened!"]) {
    assert.ok(recorded.uart.includes(line), line);
  }
});
