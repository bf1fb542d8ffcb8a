// The HTTP service against hostile URLs and servers (issue 12): every bad URL, Location and answer gives one
// answer with a short reason, never a throw; bodies, headers, time and requests in flight are bounded. Servers are
// raw TCP on 127.0.0.1 port 0; timeouts are short ones given to the client, no assertion depends on timing.

import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { test } from "node:test";
import {
  HTTP_BODY_BYTES_MAX,
  HTTP_HEADER_BYTES_MAX,
  HTTP_REDIRECTS_MAX,
  parseHttpUrl,
  RealHttp,
  resolveLocation,
  type HttpAnswer,
  type RealHttpOptions,
} from "../host/vm/http.js";

interface Connection {
  socket: Socket;
  /** The request line, once the request's head came ("" if the client closed first). */
  requestLine: Promise<string>;
  /** Resolves when the socket is closed (by either side). */
  closed: Promise<void>;
  isClosed: boolean;
}

interface RawServer {
  port: number;
  connections: Connection[];
  close(): Promise<void>;
}

/** A TCP server that hands each connection, and its request line, to `handle`. */
async function rawServer(handle: (connection: Connection) => void): Promise<RawServer> {
  const connections: Connection[] = [];
  const server: Server = createServer((socket) => {
    socket.on("error", () => {});
    let head = "";
    let gotLine: (line: string) => void = () => {};
    const connection: Connection = {
      socket,
      requestLine: new Promise((resolve) => (gotLine = resolve)),
      closed: new Promise((resolve) => socket.on("close", () => resolve())),
      isClosed: false,
    };
    socket.on("close", () => {
      connection.isClosed = true;
      gotLine("");
    });
    socket.on("data", (data: Buffer) => {
      head += data.toString("latin1");
      if (head.includes("\r\n\r\n")) gotLine(head.slice(0, head.indexOf("\r\n")));
    });
    connections.push(connection);
    handle(connection);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    connections,
    close: () =>
      new Promise((resolve) => {
        for (const c of connections) c.socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A server that answers each request with `answer(requestLine)` and closes. */
function answering(answer: (requestLine: string) => string): Promise<RawServer> {
  return rawServer((c) => {
    void c.requestLine.then((line) => {
      if (!c.isClosed) c.socket.end(answer(line), "latin1");
    });
  });
}

const FAST: RealHttpOptions = { connectTimeoutMs: 2000, responseTimeoutMs: 3000 };

function get(client: RealHttp, url: string, wantBody = true): Promise<HttpAnswer> {
  return new Promise((resolve) => client.get(url, resolve, wantBody));
}

function text(answer: HttpAnswer): string {
  return Buffer.from(answer.body).toString("latin1");
}

test("URL parsing: scheme-less or http://, a sane host, port 1..65535, a path without control characters", () => {
  assert.deepEqual(parseHttpUrl("127.0.0.1:8080/vl/locate.jsp?sn=1"), { target: { host: "127.0.0.1", port: 8080, path: "/vl/locate.jsp?sn=1" } });
  assert.deepEqual(parseHttpUrl("HTTP://example.com"), { target: { host: "example.com", port: 80, path: "/" } });
  assert.deepEqual(parseHttpUrl("h/a b\xe9"), { target: { host: "h", port: 80, path: "/a%20b%E9" } });
  const problems: [string, RegExp][] = [
    ["https://example.com/", /scheme https not supported/],
    ["exa mple.com/x", /host: bad name exa mple\.com/],
    ["user@host/x", /host: bad name/],
    ["/vl", /no host/],
    ["host:0/x", /bad port 0/],
    ["host:65536/x", /bad port 65536/],
    ["host:/x", /bad port/],
    ["host:8a/x", /bad port 8a/],
    ["host/a\r\nX-Injected: 1", /control character 0x0d in the path/],
    ["host/a\x00", /control character 0x00/],
    ["host/\u0100", /not Latin-1/],
    ["1.2.3/x", /bad IPv4 address/],
    [`host/${"a".repeat(2000)}`, /longer than 1024 characters/],
  ];
  for (const [url, expected] of problems) {
    const parsed = parseHttpUrl(url);
    assert.ok("problem" in parsed, `${JSON.stringify(url)} is refused`);
    assert.match(parsed.problem, expected, JSON.stringify(url));
  }
});

test("Location: an absolute http URL or an absolute path; anything else is a bad Location", () => {
  const base = { host: "a.example", port: 81, path: "/x" };
  assert.deepEqual(resolveLocation("/b c", base), { target: { host: "a.example", port: 81, path: "/b%20c" } });
  assert.deepEqual(resolveLocation("http://b.example:82/y", base), { target: { host: "b.example", port: 82, path: "/y" } });
  for (const [location, expected] of [
    ["", /empty/],
    ["//evil.example/x", /scheme-relative/],
    ["https://b.example/", /^not an http URL: https:\/\/b\.example\/$/],
    ["ftp://b.example/", /not an http URL/],
    ["javascript:alert(1)", /not an http URL/],
    ["next.jsp", /relative next\.jsp/],
    ["/a\x01b", /control character 0x01/],
    ["http://bad host/", /bad name/],
  ] as [string, RegExp][]) {
    const parsed = resolveLocation(location, base);
    assert.ok("problem" in parsed, JSON.stringify(location));
    assert.match(parsed.problem, expected, JSON.stringify(location));
  }
});

test("a URL with a space or a control character never throws: the space is encoded, the control character refused", async () => {
  const server = await answering((line) => `HTTP/1.0 200 OK\r\n\r\n${line}`);
  try {
    const client = new RealHttp(FAST);
    const spaced = await get(client, `127.0.0.1:${server.port}/vl/sendMailXMPP.jsp?m=1&d=a b`);
    assert.equal(spaced.status, 200);
    assert.equal(text(spaced), "GET /vl/sendMailXMPP.jsp?m=1&d=a%20b HTTP/1.1");
    const connectionsBefore = server.connections.length;
    for (const url of [`127.0.0.1:${server.port}/a\nb`, `127.0.0.1:${server.port}/a\x7f`, `bad\thost:${server.port}/`, `127.0.0.1 /x`]) {
      const answer = await get(client, url);
      assert.equal(answer.status, -1, JSON.stringify(url));
      assert.match(answer.error ?? "", /^bad URL: /, JSON.stringify(url));
      assert.doesNotMatch(answer.error ?? "", /[\x00-\x1f]/, "the reason is one printable line");
    }
    assert.equal(server.connections.length, connectionsBefore, "a refused URL opens no connection");
  } finally {
    await server.close();
  }
});

test("a bad port is a bad URL, and the answer never comes synchronously", async () => {
  const client = new RealHttp(FAST);
  for (const url of ["127.0.0.1:0/x", "127.0.0.1:99999/x", "127.0.0.1:-1/x"]) {
    let answered = false;
    const answer = new Promise<HttpAnswer>((resolve) =>
      client.get(url, (a) => {
        answered = true;
        resolve(a);
      }));
    assert.equal(answered, false, "done is never called from inside get()");
    const a = await answer;
    assert.equal(a.status, -1);
    assert.match(a.error ?? "", /^bad URL: bad port/);
  }
  assert.equal(client.pending, 0);
});

test("bad Locations: relative, another scheme, scheme-relative, a control character; a space is encoded and followed", async () => {
  let target = "";
  const server = await answering((line) => {
    const path = line.split(" ")[1] ?? "";
    if (path === "/end%20here") return "HTTP/1.0 200 OK\r\n\r\narrived";
    if (path === "/space") return "HTTP/1.0 302 Found\r\nLocation: /end here\r\n\r\n";
    if (path === "/control") return "HTTP/1.0 302 Found\r\nLocation: /a\x01b\r\n\r\n";
    if (path === "/none") return "HTTP/1.0 302 Found\r\n\r\n";
    return `HTTP/1.0 302 Found\r\nLocation: ${target}\r\n\r\n`;
  });
  try {
    const client = new RealHttp(FAST);
    const base = `127.0.0.1:${server.port}`;
    const followed = await get(client, `${base}/space`);
    assert.equal(followed.status, 200);
    assert.equal(text(followed), "arrived");
    for (const [location, expected] of [
      ["next.jsp", /^bad Location: relative next\.jsp$/],
      ["https://127.0.0.1/", /^bad Location: not an http URL: https:\/\/127\.0\.0\.1\/$/],
      ["//127.0.0.1/x", /^bad Location: scheme-relative/],
      ["mailto:x@y", /^bad Location: not an http URL/],
      [`http://127.0.0.1:0/`, /^bad Location: bad port 0$/],
    ] as [string, RegExp][]) {
      target = location;
      const answer = await get(client, `${base}/go`);
      assert.equal(answer.status, 302, location);
      assert.match(answer.error ?? "", expected, location);
    }
    assert.match((await get(client, `${base}/none`)).error ?? "", /^bad Location: missing$/);
    // node:http's parser refuses a control character in any header value: a bad answer, not a crash.
    const control = await get(client, `${base}/control`);
    assert.equal(control.status, -1);
    assert.equal(control.error, "bad answer: invalid character in a header");
  } finally {
    await server.close();
  }
});

test("redirects: two are followed, a third is too many, a loop is stopped", async () => {
  const paths: string[] = [];
  const server = await answering((line) => {
    const path = line.split(" ")[1] ?? "";
    paths.push(path);
    const hop = /^\/hop(\d)$/.exec(path);
    if (hop && Number(hop[1]) < 9) return `HTTP/1.0 302 Found\r\nLocation: /hop${Number(hop[1]) + 1}\r\n\r\n`;
    if (path === "/loop-a") return "HTTP/1.0 302 Found\r\nLocation: /loop-b\r\n\r\n";
    if (path === "/loop-b") return "HTTP/1.0 302 Found\r\nLocation: /loop-a\r\n\r\n";
    return "HTTP/1.0 200 OK\r\n\r\nend";
  });
  try {
    const client = new RealHttp(FAST);
    const base = `127.0.0.1:${server.port}`;
    // hop7 → hop8 → hop9 (200): two redirects.
    const two = await get(client, `${base}/hop7`);
    assert.equal(two.status, 200);
    assert.equal(text(two), "end");
    assert.equal(two.error, undefined);
    paths.length = 0;
    const tooMany = await get(client, `${base}/hop1`);
    assert.equal(tooMany.status, 302);
    assert.equal(tooMany.error, `too many redirects (more than ${HTTP_REDIRECTS_MAX})`);
    assert.deepEqual(paths, ["/hop1", "/hop2", "/hop3"], "the third Location is not asked for");
    paths.length = 0;
    const loop = await get(client, `${base}/loop-a`);
    assert.equal(loop.status, 302);
    assert.match(loop.error ?? "", /^redirect loop: back to 127\.0\.0\.1:\d+\/loop-a$/);
    assert.deepEqual(paths, ["/loop-a", "/loop-b"]);
  } finally {
    await server.close();
  }
});

test("an endless body: the first 16384 bytes arrive, the socket is closed, memory stays bounded", async () => {
  const offeredBytes = 200 * 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 7 + 1) & 0xff;
  let writtenBytes = 0;
  const server = await rawServer((c) => {
    void c.requestLine.then(() => {
      c.socket.write("HTTP/1.0 200 OK\r\n\r\n");
      // Writes as fast as the client reads, until it closes (or 200 MB went).
      const pump = () => {
        while (!c.isClosed && writtenBytes < offeredBytes) {
          writtenBytes += chunk.length;
          if (!c.socket.write(chunk)) return void c.socket.once("drain", pump);
        }
      };
      pump();
    });
  });
  try {
    const rssBefore = process.memoryUsage().rss;
    const answer = await get(new RealHttp(FAST), `127.0.0.1:${server.port}/stream`);
    assert.equal(answer.status, 200);
    assert.equal(answer.body.length, HTTP_BODY_BYTES_MAX);
    assert.deepEqual(Buffer.from(answer.body), chunk.subarray(0, HTTP_BODY_BYTES_MAX));
    assert.equal(answer.error, `body too large: first ${HTTP_BODY_BYTES_MAX} bytes kept`);
    await server.connections[0]!.closed;
    assert.ok(writtenBytes < offeredBytes, `the client stopped reading (server wrote ${writtenBytes} bytes)`);
    const grownBytes = process.memoryUsage().rss - rssBefore;
    assert.ok(grownBytes < 50 * 1024 * 1024, `rss grew by ${grownBytes} bytes`);
  } finally {
    await server.close();
  }
});

test("a body of exactly 16384 bytes is whole, without an error", async () => {
  const body = "x".repeat(HTTP_BODY_BYTES_MAX);
  const server = await answering(() => `HTTP/1.0 200 OK\r\n\r\n${body}`);
  try {
    const answer = await get(new RealHttp(FAST), `127.0.0.1:${server.port}/`);
    assert.equal(answer.status, 200);
    assert.equal(answer.body.length, HTTP_BODY_BYTES_MAX);
    assert.equal(answer.error, undefined);
  } finally {
    await server.close();
  }
});

test("a body that never ends, slowly: the whole-response deadline fires and closes the socket", async () => {
  const server = await rawServer((c) => {
    void c.requestLine.then(() => {
      c.socket.write("HTTP/1.0 200 OK\r\n\r\n");
      const timer = setInterval(() => (c.isClosed ? clearInterval(timer) : c.socket.write("x")), 20);
    });
  });
  try {
    const answer = await get(new RealHttp({ connectTimeoutMs: 2000, responseTimeoutMs: 300 }), `127.0.0.1:${server.port}/`);
    assert.equal(answer.status, -1, "an unfinished body is no answer");
    assert.equal(answer.body.length, 0);
    assert.match(answer.error ?? "", /^timeout: no complete answer within 300 ms \(HTTP 200, \d+ bytes of body\)$/);
    await server.connections[0]!.closed;
  } finally {
    await server.close();
  }
});

test("a server that accepts and never answers: timeout, and the client closes the socket", async () => {
  const server = await rawServer(() => {});
  try {
    const answer = await get(new RealHttp({ connectTimeoutMs: 2000, responseTimeoutMs: 200 }), `127.0.0.1:${server.port}/`);
    assert.equal(answer.status, -1);
    assert.equal(answer.error, "timeout: no complete answer within 200 ms");
    await server.connections[0]!.closed;
  } finally {
    await server.close();
  }
});

test("headers byte by byte (slowloris): the deadline fires", async () => {
  const head = "HTTP/1.0 200 OK\r\n" + "X-Slow: 1\r\n".repeat(1000);
  const server = await rawServer((c) => {
    let at = 0;
    const timer = setInterval(() => (c.isClosed || at >= head.length ? clearInterval(timer) : c.socket.write(head[at++]!)), 10);
  });
  try {
    const answer = await get(new RealHttp({ connectTimeoutMs: 2000, responseTimeoutMs: 300 }), `127.0.0.1:${server.port}/`);
    assert.equal(answer.status, -1);
    assert.equal(answer.error, "timeout: no complete answer within 300 ms");
    await server.connections[0]!.closed;
  } finally {
    await server.close();
  }
});

test("a server that closes mid-body (Content-Length and chunked): no answer, the reason says how much came", async () => {
  const server = await answering((line) =>
    line.includes("/chunked")
      ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789"
      : "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789");
  try {
    const client = new RealHttp(FAST);
    for (const path of ["/length", "/chunked"]) {
      const answer = await get(client, `127.0.0.1:${server.port}${path}`);
      assert.equal(answer.status, -1, path);
      assert.equal(answer.error, "connection closed mid-body after 10 bytes (HTTP 200)", path);
    }
  } finally {
    await server.close();
  }
});

test("a close-delimited body (HTTP/1.0) is whole when the server closes", async () => {
  const server = await answering(() => "HTTP/1.0 200 OK\r\n\r\nping 127.0.0.1\nxmpp_domain localhost\n");
  try {
    const answer = await get(new RealHttp(FAST), `http://127.0.0.1:${server.port}/vl/locate.jsp`);
    assert.equal(answer.status, 200);
    assert.equal(text(answer), "ping 127.0.0.1\nxmpp_domain localhost\n");
    assert.equal(answer.error, undefined);
  } finally {
    await server.close();
  }
});

test("no status line (garbage, or nothing at all): a bad answer", async () => {
  const server = await answering((line) => (line.includes("/nothing") ? "" : "hello, this is not HTTP\r\n\r\n"));
  try {
    const client = new RealHttp(FAST);
    const garbage = await get(client, `127.0.0.1:${server.port}/garbage`);
    assert.equal(garbage.status, -1);
    assert.equal(garbage.error, "bad answer: no HTTP status line");
    const nothing = await get(client, `127.0.0.1:${server.port}/nothing`);
    assert.equal(nothing.status, -1);
    assert.equal(nothing.error, "connection closed without an answer");
  } finally {
    await server.close();
  }
});

test("a header flood: refused past the header limit, the socket closed", async () => {
  const server = await rawServer((c) => {
    void c.requestLine.then(() => {
      c.socket.write("HTTP/1.0 200 OK\r\n");
      const line = `X-Flood: ${"a".repeat(1000)}\r\n`;
      const pump = () => {
        while (!c.isClosed) if (!c.socket.write(line)) return void c.socket.once("drain", pump);
      };
      pump();
    });
  });
  try {
    const answer = await get(new RealHttp(FAST), `127.0.0.1:${server.port}/`);
    assert.equal(answer.status, -1);
    assert.equal(answer.error, `bad answer: headers larger than ${HTTP_HEADER_BYTES_MAX} bytes`);
    await server.connections[0]!.closed;
  } finally {
    await server.close();
  }
});

test("a 404 keeps its status and body, with the reason HTTP 404", async () => {
  const server = await answering(() => "HTTP/1.0 404 Not Found\r\n\r\nno such page");
  try {
    const answer = await get(new RealHttp(FAST), `127.0.0.1:${server.port}/vl/locate.jsp`);
    assert.equal(answer.status, 404);
    assert.equal(text(answer), "no such page");
    assert.equal(answer.error, "HTTP 404");
  } finally {
    await server.close();
  }
});

test("connection refused, and DNS failures, each with its own reason", async () => {
  const server = await rawServer(() => {});
  const port = server.port;
  await server.close();
  const refused = await get(new RealHttp(FAST), `127.0.0.1:${port}/`);
  assert.equal(refused.status, -1);
  assert.equal(refused.error, "connection refused");
  const noSuchHost = new RealHttp({
    ...FAST,
    lookup: (hostname, _options, callback) =>
      setImmediate(() => callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" }), "", 4)),
  });
  const missing = await get(noSuchHost, "no-such-host.example/vl");
  assert.equal(missing.status, -1);
  assert.equal(missing.error, "DNS: no such host");
  const hanging = new RealHttp({ connectTimeoutMs: 100, responseTimeoutMs: 3000, lookup: () => {} });
  const hung = await get(hanging, "slow-dns.example/vl");
  assert.equal(hung.status, -1);
  assert.equal(hung.error, "timeout: no connection within 100 ms");
});

test("requests in flight are bounded: a new one that wants its body aborts the oldest, fire-and-forget is refused", async () => {
  const server = await rawServer(() => {});
  try {
    const client = new RealHttp({ connectTimeoutMs: 2000, responseTimeoutMs: 60_000, requestsInFlightMax: 2 });
    const url = `127.0.0.1:${server.port}/vl/locate.jsp`;
    const first = get(client, url);
    const second = get(client, url);
    // Wait until both connections are open, so the abort closes a real socket.
    while (server.connections.length < 2) await new Promise((resolve) => setImmediate(resolve));
    const third = get(client, url);
    const aborted = await first;
    assert.equal(aborted.status, -1);
    assert.equal(aborted.error, "aborted: a newer request needed one of the 2 slots");
    await server.connections[0]!.closed;
    const refused = await get(client, url, false);
    assert.equal(refused.error, "refused: 2 requests already in flight");
    assert.equal(client.pending, 2);
    client.abortAll();
    assert.equal((await second).error, "aborted: the client stopped");
    assert.equal((await third).error, "aborted: the client stopped");
    assert.equal(client.pending, 0);
  } finally {
    await server.close();
  }
});
