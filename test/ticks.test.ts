// "due" ticks (the host ticks only when next_tick_ms says a tick can do something) behave exactly like the VM's own
// 20 Hz loop ("every"): the same bytes, log lines, reports, HTTP calls and flash writes at the same virtual times.
// And they cost far fewer entries into the module.

import assert from "node:assert/strict";
import { test } from "node:test";
import { ScriptedServer, virtualRabbit, type Step } from "./harness.js";
import { happyPathSteps, JID, SLEEP_PACKET } from "./scripts.js";

const HEADER = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='1' from='almacska' version='1.0' xml:lang='en'>";
const PRE_AUTH = "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>DIGEST-MD5</mechanism></mechanisms></stream:features>";

/** One scenario in one tick mode: its transcript, and how many times the module was ticked. */
function transcriptOf(ticks: "every" | "due", profile: "firmware" | "standard", steps: () => Step[], runMs: number, password?: string) {
  const setup = virtualRabbit({ profile, ticks, password });
  const server = new ScriptedServer(setup.network, steps());
  setup.rabbit.start();
  setup.run(runMs);
  return { transcript: setup.recorded.transcript, failures: server.failures, tickCalls: setup.rabbit.tickCalls, done: server.done };
}

const scenarios: { name: string; profile: "firmware" | "standard"; steps: () => Step[]; runMs: number; password?: string }[] = [
  {
    name: "the happy path, a sleep packet, then 10 idle minutes",
    profile: "firmware",
    runMs: 660_000,
    steps: () => [
      ...happyPathSteps({}),
      { label: "sleep", reply: `<message from='net.openjabnab.platform@almacska/services' to='${JID}/idle' id='O-1'><packet xmlns='violet:packet' format='1.0' ttl='604800'>${SLEEP_PACKET}</packet></message>` },
    ],
  },
  {
    name: "a refused login, the reconnect delay, a silent server (the session deadline)",
    profile: "standard",
    password: "0123456789ab",
    runMs: 200_000,
    steps: () => [
      { expect: /^<\?xml/, reply: HEADER + PRE_AUTH },
      { expect: /^<auth /, reply: "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>" },
      { expect: /^<\?xml/ },
    ],
  },
];

for (const scenario of scenarios) {
  test(`due ticks and every tick give the same transcript: ${scenario.name}`, () => {
    const every = transcriptOf("every", scenario.profile, scenario.steps, scenario.runMs, scenario.password);
    const due = transcriptOf("due", scenario.profile, scenario.steps, scenario.runMs, scenario.password);
    assert.deepEqual(every.failures, []);
    assert.ok(every.transcript.length > 20, `${every.transcript.length} lines`);
    assert.deepEqual(due.transcript, every.transcript);
    assert.ok(every.tickCalls >= scenario.runMs / 50 - 40, `every: ${every.tickCalls} ticks`);
    assert.ok(due.tickCalls * 5 < every.tickCalls, `due: ${due.tickCalls} ticks against ${every.tickCalls}`);
  });
}
