// The web page's server without a browser: how listener events fold into the page's view of a rabbit (state.ts),
// and the bad-request table (like test/hostile.test.ts for the lab): no token, a wrong token, another origin, another
// Host, a wrong method, a body too large, bad JSON and parameters, unknown routes; the event streams' bounds (count,
// heartbeat, a client that does not read). Real sockets on loopback; the rabbit and the lab are stand-ins.

import assert from "node:assert/strict";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { WEB_BODY_BYTES_MAX, WEB_LOG_ENTRIES_MAX } from "../host/web/limits.js";
import { WebServer, type LabAction, type WebLab } from "../host/web/server.js";
import { RabbitView, type WebEvent } from "../host/web/state.js";

const MAC = "0019db01dbd7";
const bytes = (text: string) => Buffer.from(text, "latin1");
/** An ambient frame as the rabbit reports it: type 04, OpenJabNab's header, then (service, value) pairs. */
const ambientFrame = (pairs: number[]) => Uint8Array.from([0x04, 0x7f, 0xff, 0xff, 0xfe, ...pairs]);

describe("the page's view of a rabbit (state.ts)", () => {
  test("phases from status, state and online reports, boot and reboot; the reason; ears, LEDs", () => {
    const view = new RabbitView({ mac: MAC, secrets: () => [] });
    const events: WebEvent[] = [];
    view.attach((event) => events.push(event));
    const l = view.listener;
    const phase = () => view.snapshot().phase + (view.snapshot().resource ? ` ${view.snapshot().resource}` : "");
    l.booted!(1);
    assert.equal(phase(), "locating");
    l.report!("status", bytes("opening"));
    assert.equal(phase(), "connecting");
    l.report!("state", bytes("ssRegister1"));
    assert.equal(phase(), "registering");
    l.report!("status", bytes("logging"));
    assert.equal(phase(), "logging in");
    l.report!("status", bytes("opened"));
    l.report!("state", bytes("ssGetSource"));
    assert.equal(phase(), "online boot");
    l.report!("frame", ambientFrame([0x04, 7, 0x05, 16, 0x08, 1]));
    l.report!("online", bytes(`${MAC}@localhost/idle`));
    assert.equal(phase(), "online idle");
    assert.deepEqual(view.snapshot().ears, { left: 7, right: 16 });
    assert.equal(view.snapshot().nose, 1);
    l.led!(2, 0x0000ff);
    assert.equal(view.snapshot().leds[2], "#0000ff");
    l.report!("reboot", bytes("reboot frame"));
    l.rebooting!();
    assert.equal(phase(), "rebooting");
    assert.equal(view.snapshot().reason?.text, "reboot: reboot frame");
    l.booted!(2);
    assert.equal(phase(), "locating");
    assert.equal(view.snapshot().boots, 2);
    assert.ok(events.every((event) => event.rabbit === MAC), "every event carries the rabbit's id");
    assert.deepEqual(events.filter((e) => e.kind === "ears").map((e) => [e.left, e.right, e.by]), [[7, 16, "packet"]]);
  });

  test("the rabbit's own ears stanza moves the ears; stanzas are masked, cut and bounded; HTTP answers", () => {
    const view = new RabbitView({ mac: MAC, secrets: () => ["0a1b2c3d4e5f"] });
    const l = view.listener;
    l.sent!(1, bytes('<message><ears xmlns="violet:nabaztag:ears"><left>4</left><right>12</right></ears></message>'));
    assert.deepEqual(view.snapshot().ears, { left: 4, right: 12 });
    l.sent!(1, bytes("<iq><query><password>0a1b2c3d4e5f</password></query></iq>"));
    l.received!(1, bytes("says 0a1b2c3d4e5f again"));
    const [, password, again] = view.snapshot().stanzas.map((s) => s.text);
    assert.equal(password, "<iq><query><password>************</password></query></iq>");
    assert.equal(again, "says ************ again");
    l.received!(1, bytes("x".repeat(100_000)));
    assert.ok(view.snapshot().stanzas.at(-1)!.text.length < 2_100, "a long read is cut");
    for (let i = 0; i < 200; i++) l.received!(1, bytes(`<n>${i}</n>`));
    assert.equal(view.snapshot().stanzas.length, WEB_LOG_ENTRIES_MAX);
    assert.equal(view.snapshot().stanzas.at(-1)!.text, "<n>199</n>");
    l.http!("127.0.0.1:1/vl/locate.jsp?sn=x", true);
    l.httpAnswered!("127.0.0.1:1/vl/locate.jsp?sn=x", -1, "connection refused");
    assert.deepEqual(view.snapshot().http.map((c) => [c.status, c.error]), [[-1, "connection refused"]]);
    assert.match(view.snapshot().reason!.text, /connection refused/);
    assert.deepEqual(view.snapshot(false).stanzas, [], "a fleet's snapshot leaves the logs out");
  });
});

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request with exactly these headers (Host and Origin included); `body` is sent as it is. */
function call(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const sent = httpRequest({ host: "127.0.0.1", port, method, path, headers: { host: `127.0.0.1:${port}`, ...headers } }, (response) => {
      let text = "";
      response.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
      response.on("end", () => resolve({ status: response.statusCode!, headers: response.headers, body: text }));
    });
    sent.on("error", reject);
    sent.end(body);
  });
}

/** Opens an event stream and resolves with what it received within `ms` (or the refusal). */
function stream(port: number, path: string, ms: number, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const sent = httpRequest({ host: "127.0.0.1", port, path, headers: { host: `127.0.0.1:${port}`, ...headers } }, (response) => {
      let text = "";
      response.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
      response.on("end", () => resolve({ status: response.statusCode!, headers: response.headers, body: text }));
      setTimeout(() => {
        sent.destroy();
        resolve({ status: response.statusCode!, headers: response.headers, body: text });
      }, ms);
    });
    sent.on("error", reject);
    sent.end();
  });
}

describe("bad requests against the page's server", { concurrency: false }, () => {
  let server: WebServer;
  let port = 0;
  const view = new RabbitView({ mac: MAC, secrets: () => [] });
  const actions: string[] = [];
  const labCommands: string[] = [];
  const lab: WebLab = {
    platformUrl: "http://127.0.0.1:1/vl",
    dialect: "tolerant",
    online: () => [{ mac: MAC, resource: "idle", jid: `${MAC}@localhost/idle` }],
    command: (mac: string, action: LabAction, query: URLSearchParams) => {
      labCommands.push(`${mac} ${action} ${query}`);
      return { status: 200, body: JSON.stringify({ sent: action, mac }) };
    },
  };
  const control = { button: (clicks: 1 | 2) => actions.push(`button ${clicks}`), ears: (left: number, right: number) => actions.push(`ears ${left} ${right}`) };

  before(async () => {
    server = new WebServer({ rabbits: [{ view, control: () => control }], lab, headersTimeoutMs: 1000, clientsMax: 3, backlogBytesMax: 64 * 1024, heartbeatMs: 200 });
    port = await server.listen(0);
  });
  after(() => server.close());

  const post = (path: string, body?: string, headers: Record<string, string> = {}) =>
    call(port, "POST", path, { "x-page-token": server.token, "content-type": "application/json", ...headers }, body);

  test("the page: the token in it, a strict content security policy", async () => {
    const page = await call(port, "GET", "/");
    assert.equal(page.status, 200);
    assert.ok(page.body.includes(`<meta name="page-token" content="${server.token}">`));
    assert.ok(page.body.includes(`<meta name="rabbit" content="${MAC}">`));
    assert.match(String(page.headers["content-security-policy"]), /script-src 'self'.*frame-ancestors 'none'/);
    assert.equal((await call(port, "GET", "/app.js")).status, 200);
    assert.equal((await call(port, "GET", "/style.css")).headers["content-type"], "text/css; charset=utf-8");
  });

  test("the actions, with the token: the rabbit's button and ears, the lab's packets", async () => {
    assert.equal((await post(`/api/rabbits/${MAC}/button`, '{"clicks":1}')).status, 200);
    assert.equal((await post("/api/rabbits/00:19:db:01:db:d7/button", '{"clicks":2}')).status, 200);
    assert.equal((await post(`/api/rabbits/${MAC}/ears`, '{"left":16,"right":0}')).status, 200);
    assert.deepEqual(actions, ["button 1", "button 2", "ears 16 0"]);
    assert.deepEqual(view.snapshot().ears, { left: 16, right: 0 }, "the page draws the ears at once");
    assert.equal((await post(`/api/lab/rabbits/${MAC}/ambient`, '{"left":10,"nose":2}')).status, 200);
    assert.equal((await post(`/api/lab/rabbits/${MAC}/sleep`)).status, 200);
    assert.deepEqual(labCommands, [`${MAC} ambient left=10&nose=2`, `${MAC} sleep `]);
  });

  const rows: { name: string; send: () => Promise<Answer>; status: number; match?: RegExp; allow?: string }[] = [
    { name: "no token", send: () => call(port, "POST", `/api/rabbits/${MAC}/button`, {}, '{"clicks":1}'), status: 401, match: /X-Page-Token/ },
    { name: "a wrong token", send: () => post(`/api/rabbits/${MAC}/button`, '{"clicks":1}', { "x-page-token": "0".repeat(32) }), status: 401 },
    { name: "a token of another length", send: () => post(`/api/rabbits/${MAC}/button`, '{"clicks":1}', { "x-page-token": "abc" }), status: 401 },
    { name: "another origin, with the token", send: () => post(`/api/rabbits/${MAC}/button`, '{"clicks":1}', { origin: "http://evil.example" }), status: 403, match: /another origin/ },
    { name: "the same host on another port", send: () => post(`/api/rabbits/${MAC}/button`, '{"clicks":1}', { origin: "http://127.0.0.1:1" }), status: 403 },
    { name: "Sec-Fetch-Site: cross-site", send: () => post(`/api/rabbits/${MAC}/button`, '{"clicks":1}', { "sec-fetch-site": "cross-site" }), status: 403 },
    { name: "Sec-Fetch-Site: same-site", send: () => post(`/api/rabbits/${MAC}/button`, '{"clicks":1}', { "sec-fetch-site": "same-site" }), status: 403 },
    { name: "another Host (DNS rebinding), even for the page", send: () => call(port, "GET", "/", { host: `evil.example:${port}` }), status: 403, match: /Host/ },
    { name: "an event stream for another origin", send: () => call(port, "GET", "/events", { origin: "http://evil.example" }), status: 403 },
    { name: "GET on an action", send: () => call(port, "GET", `/api/rabbits/${MAC}/button`), status: 405, allow: "POST" },
    { name: "POST on the page", send: () => post("/"), status: 405, allow: "GET" },
    { name: "DELETE on the events", send: () => call(port, "DELETE", "/events"), status: 405, allow: "GET" },
    { name: "a body over the limit, declared", send: () => post(`/api/rabbits/${MAC}/button`, " ".repeat(WEB_BODY_BYTES_MAX + 1)), status: 413 },
    { name: "a body over the limit, chunked", send: () => chunkedPost(port, server.token, `/api/rabbits/${MAC}/button`, WEB_BODY_BYTES_MAX * 4), status: 413 },
    { name: "a body that is not JSON", send: () => post(`/api/rabbits/${MAC}/button`, "clicks=1"), status: 400, match: /not JSON/ },
    { name: "a JSON array", send: () => post(`/api/rabbits/${MAC}/button`, "[1]"), status: 400 },
    { name: "clicks out of range", send: () => post(`/api/rabbits/${MAC}/button`, '{"clicks":3}'), status: 400, match: /clicks is a whole number from 1 to 2/ },
    { name: "an ear past 16", send: () => post(`/api/rabbits/${MAC}/ears`, '{"left":17,"right":0}'), status: 400 },
    { name: "an ear as text", send: () => post(`/api/rabbits/${MAC}/ears`, '{"left":"1","right":0}'), status: 400 },
    { name: "an unknown parameter", send: () => post(`/api/rabbits/${MAC}/ears`, '{"left":1,"right":0,"speed":9}'), status: 400, match: /unknown parameter speed/ },
    { name: "a lab action with a parameter it does not take", send: () => post(`/api/lab/rabbits/${MAC}/sleep`, '{"left":1}'), status: 400 },
    { name: "ambient with a fraction", send: () => post(`/api/lab/rabbits/${MAC}/ambient`, '{"left":1.5}'), status: 400 },
    { name: "an unknown route", send: () => call(port, "GET", "/etc/passwd"), status: 404 },
    { name: "an unknown action", send: () => post(`/api/rabbits/${MAC}/explode`, "{}"), status: 404 },
    { name: "an unknown lab action", send: () => post(`/api/lab/rabbits/${MAC}/packet`, "{}"), status: 404 },
    { name: "a rabbit not on this page", send: () => post("/api/rabbits/0019db000099/button", '{"clicks":1}'), status: 404 },
    { name: "not a MAC address", send: () => post("/api/rabbits/nope/button", '{"clicks":1}'), status: 404 },
    { name: "an event stream of a rabbit not here", send: () => call(port, "GET", "/events?rabbit=0019db000099"), status: 404 },
    { name: "a request target too long", send: () => call(port, "GET", `/${"a".repeat(2000)}`), status: 400 },
  ];

  for (const row of rows) {
    test(`refused: ${row.name} (${row.status})`, async () => {
      const before = actions.length + labCommands.length;
      const answer = await row.send();
      assert.equal(answer.status, row.status, answer.body);
      if (row.match) assert.match(answer.body, row.match);
      if (row.allow) assert.equal(answer.headers.allow, row.allow);
      assert.equal(actions.length + labCommands.length, before, "nothing was done");
    });
  }

  test("slow headers are cut off; the server still serves", async () => {
    const closed = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1", () => socket.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
      socket.on("error", () => undefined);
      socket.on("data", () => undefined);
      socket.on("close", () => resolve(true));
      setTimeout(() => resolve(false), 4000).unref();
    });
    assert.ok(closed, "closed after the headers timeout");
    assert.equal((await call(port, "GET", "/")).status, 200);
  });

  test("event streams: a snapshot, changes, a heartbeat; a bounded number; a stream that does not read is dropped", async () => {
    const first = stream(port, `/events?rabbit=${MAC}`, 600);
    await new Promise((resolve) => setTimeout(resolve, 100));
    view.listener.led!(0, 0xff0000);
    const { status, headers, body } = await first;
    assert.equal(status, 200);
    assert.equal(headers["content-type"], "text/event-stream; charset=utf-8");
    const events = body.split("\n").filter((line) => line.startsWith("data: ")).map((line) => JSON.parse(line.slice(6)) as WebEvent);
    assert.equal(events[0]!.kind, "hello");
    assert.ok(events.some((e) => e.kind === "led" && e.rgb === "#ff0000" && e.rabbit === MAC));
    assert.match(body, /^: heartbeat$/m);

    const open = [0, 1, 2].map(() => stream(port, "/events", 400));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const refused = await call(port, "GET", "/events");
    assert.equal(refused.status, 503, "a fourth stream is turned away");
    await Promise.all(open);

    assert.equal(await stalledStreamDropped(port, view, server), true);
    assert.equal((await call(port, "GET", "/")).status, 200, "still serving");
  });
});

/** A POST whose body comes in chunks, with no length declared. */
function chunkedPost(port: number, token: string, path: string, size: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const sent = httpRequest({ host: "127.0.0.1", port, method: "POST", path, headers: { host: `127.0.0.1:${port}`, "x-page-token": token, "transfer-encoding": "chunked" } }, (response) => {
      let text = "";
      response.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
      response.on("end", () => resolve({ status: response.statusCode!, headers: response.headers, body: text }));
    });
    sent.on("error", reject);
    for (let at = 0; at < size; at += 256) sent.write(" ".repeat(256));
    sent.end();
  });
}

/** Opens a stream on a raw socket that never reads, then makes the rabbit talk until the server drops the stream. */
async function stalledStreamDropped(port: number, view: RabbitView, server: WebServer): Promise<boolean> {
  const socket = connect(port, "127.0.0.1", () => socket.write(`GET /events?rabbit=${MAC} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`));
  socket.pause();
  socket.on("error", () => undefined);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const chunk = bytes(`<message>${"y".repeat(1900)}</message>`);
  // Bounded: at most 200 MB of events, in 60 ms steps (the flush period is 50 ms).
  for (let round = 0; round < 1000 && server.droppedStreams === 0; round++) {
    for (let i = 0; i < 100; i++) view.listener.received!(1, chunk);
    await new Promise((resolve) => setTimeout(resolve, 60));
  }
  socket.destroy();
  return server.droppedStreams > 0;
}
