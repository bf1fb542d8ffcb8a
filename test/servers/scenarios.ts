// What the integration tests check against every real server, asserted from the rabbit's event stream: a
// standard-profile rabbit getting online (platform.md §5.1), talking with a second client, and the firmware's
// failure path.

import assert from "node:assert/strict";
import type { RabbitEvent } from "../../host/observe.js";
import type { WatchedRabbit } from "./rabbit-watch.js";
import type { TestClient } from "./xmpp-client.js";

export const uart = (line: string | RegExp) => (e: RabbitEvent) => e.event === "uart" && (typeof line === "string" ? e.line === line : line.test(String(e.line)));
export const sent = (pattern: RegExp) => (e: RabbitEvent) => e.event === "out" && pattern.test(String(e.data));
export const received = (pattern: RegExp) => (e: RabbitEvent) => e.event === "in" && pattern.test(String(e.data));
export const http = (pattern: RegExp) => (e: RabbitEvent) => e.event === "http" && pattern.test(String(e.url));

/** The spec's longest reconnect delay (34 s), and time to log in again. */
export const RECONNECT_MS = 54_000;

/** A violet:packet built here byte by byte (platform.md §3): 7F, ambient frame 04 (header 7FFFFFFE, left ear 5, right ear 10, nose 1), FF. */
export const AMBIENT = Buffer.from([0x7f, 0x04, 0x00, 0x00, 0x0a, 0x7f, 0xff, 0xff, 0xfe, 0x04, 0x05, 0x05, 0x0a, 0x08, 0x01, 0xff]);

/**
 * A new standard rabbit: registers with a raw 12-hex-digit password, logs in with `mechanism`, binds boot, gets no
 * sources (service-unavailable), binds idle on a new stream, opens the session and sends presence, which the
 * server echoes. Returns its full JID and the password it registered.
 */
export async function standardOnline(rabbit: WatchedRabbit, domain: string, mechanism: string): Promise<{ jid: string; password: string }> {
  const jid = `${rabbit.mac}@${domain}/idle`;
  const online = await rabbit.waitFor((e) => e.event === "online", 60_000, "online event");
  assert.equal(online.jid, jid);
  const setIndex = rabbit.indexOf(sent(/<query xmlns=["']jabber:iq:register["']><username>/));
  assert.ok(setIndex >= 0, "a register set was sent");
  const password = /<password>([0-9a-f]{12})<\/password>/.exec(String(rabbit.events[setIndex]!.data))?.[1];
  assert.ok(password, "the register set carries a 12-hex-digit password");
  assert.ok(rabbit.indexOf(received(/type='result'[^>]*id='2'|id='2'[^>]*type='result'/), setIndex) > setIndex, "the server accepted the registration");
  const auth = rabbit.indexOf(sent(new RegExp(`^<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='${mechanism}'`)));
  assert.ok(auth > setIndex, `${mechanism} chosen`);
  const success = rabbit.indexOf(received(/<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/), auth);
  assert.ok(success > auth, "the server sent <success>");
  assert.equal(rabbit.indexOf(uart(/^BAD /)), -1, "the server proved itself");
  const bootJid = new RegExp(`<jid>${rabbit.mac}@${domain}/boot</jid>`);
  assert.ok(rabbit.indexOf(received(bootJid)) > success, "bound boot");
  assert.equal(rabbit.indexOf(sent(/<bind[^>]*>.*from=/)), -1, "no bind with the malformed from");
  assert.ok(rabbit.indexOf(received(/service-unavailable/)) > success, "the sources query answered service-unavailable");
  assert.ok(rabbit.indexOf(received(new RegExp(`<jid>${rabbit.mac}@${domain}/idle</jid>`))) > success, "bound idle");
  assert.ok(rabbit.indexOf(uart("Session opened!")) > success);
  const presence = rabbit.indexOf(sent(/^<presence/));
  assert.ok(presence > success, "presence sent");
  await rabbit.waitFor(received(new RegExp(`<presence[^>]*from='${jid.replace(/[./]/g, "\\$&")}'`)), 10_000, "the server's presence echo", presence);
  return { jid, password };
}

/** A second client pings the rabbit (answered) and sends it a violet:packet (its frames reported). */
export async function answersSecondClient(rabbit: WatchedRabbit, client: TestClient, jid: string): Promise<void> {
  client.send(`<iq to='${jid}' type='get' id='ping-1'><ping xmlns='urn:xmpp:ping'/></iq>`);
  const answer = await client.waitFor(/<iq\b[^>]*\bid='ping-1'[^>]*\/?>/, 10_000);
  assert.match(answer[0], /type='result'/);
  assert.match(answer[0], new RegExp(`from='${jid.replace(/[./]/g, "\\$&")}'`));

  const before = rabbit.events.length;
  client.send(`<message to='${jid}' id='packet-1'><packet xmlns='violet:packet' format='1.0' ttl='604800'>${AMBIENT.toString("base64")}</packet></message>`);
  const frame = await rabbit.waitFor((e) => e.event === "frame", 10_000, "a frame event", before);
  assert.equal(frame.type, "ambient");
  assert.deepEqual(frame.services, [
    { service: "left ear", value: 5 },
    { service: "right ear", value: 10 },
    { service: "nose", value: 1 },
  ]);
}

/** Labelled steps that must appear in this order, from `from` and before `before`; returns the index of the last. */
export function inOrder(rabbit: WatchedRabbit, steps: [string, (e: RabbitEvent) => boolean][], from: number, before: number): number {
  let at = from - 1;
  for (const [label, step] of steps) {
    const next = rabbit.indexOf(step, at + 1);
    assert.ok(next > at && next < before, `${label}: expected after event ${at} and before ${before}, found at ${next}`);
    at = next;
  }
  return at;
}
