// The DNS service against hostile names and answers (issue 12): names are checked before anyone is asked; empty
// answers, NXDOMAIN, SERVFAIL, silence and oversized answers each give the failure callback with a reason, never a
// throw. SRV queries go to a small DNS server on 127.0.0.1 (UDP, port 0); A lookups through an injected function.

import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import type { LookupAddress } from "node:dns";
import { test } from "node:test";
import {
  DNS_SRV_RECORDS_MAX,
  dnsNameProblem,
  RealResolver,
  usableSrv,
  type DnsError,
  type SrvRecord,
} from "../host/vm/dns.js";

interface Srv {
  priority: number;
  weight: number;
  port: number;
  target: string;
}

type Reply = { rcode: number; records?: Srv[] } | "silent";

function encodeName(name: string): Buffer {
  const labels = name === "" ? [] : name.split(".");
  return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.of(l.length), Buffer.from(l, "latin1")])), Buffer.of(0)]);
}

/** The answer to a query (its id and question copied), with SRV records. */
function encodeReply(query: Buffer, rcode: number, records: Srv[]): Buffer {
  let end = 12;
  while (query[end] !== 0) end += query[end]! + 1;
  const question = query.subarray(12, end + 5);
  const head = Buffer.alloc(12);
  query.copy(head, 0, 0, 2);
  head.writeUInt16BE(0x8180 | rcode, 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(records.length, 6);
  const answers = records.map((r) => {
    const target = encodeName(r.target);
    const rr = Buffer.alloc(2 + 10 + 6);
    rr.writeUInt16BE(0xc00c, 0); // the question's name
    rr.writeUInt16BE(33, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(60, 6);
    rr.writeUInt16BE(6 + target.length, 10);
    rr.writeUInt16BE(r.priority, 12);
    rr.writeUInt16BE(r.weight, 14);
    rr.writeUInt16BE(r.port, 16);
    return Buffer.concat([rr, target]);
  });
  return Buffer.concat([head, question, ...answers]);
}

function questionName(query: Buffer): string {
  const labels: string[] = [];
  for (let at = 12; query[at] !== 0; at += query[at]! + 1) labels.push(query.subarray(at + 1, at + 1 + query[at]!).toString("latin1"));
  return labels.join(".");
}

async function dnsServer(reply: (name: string) => Reply): Promise<{ address: string; queries: string[]; close(): void }> {
  const queries: string[] = [];
  const socket: Socket = createSocket("udp4");
  socket.on("message", (query, from) => {
    const name = questionName(query);
    queries.push(name);
    const answer = reply(name);
    if (answer !== "silent") socket.send(encodeReply(query, answer.rcode, answer.records ?? []), from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return { address: `127.0.0.1:${socket.address().port}`, queries, close: () => socket.close() };
}

function srv(resolver: RealResolver, name: string): Promise<{ records: SrvRecord[]; error?: DnsError }> {
  return new Promise((resolve) => resolver.srv(name, (records, error) => resolve({ records, error })));
}

function a(resolver: RealResolver, name: string): Promise<{ address?: string; error?: DnsError }> {
  return new Promise((resolve) => resolver.a(name, (address, error) => resolve({ address, error })));
}

const XMPP = "_xmpp-client._tcp.example.com";

test("DNS names: length, labels and characters are checked", () => {
  for (const name of ["example.com", "localhost", "example.com.", XMPP, "127.0.0.1", "a-b.c_d.example"]) {
    assert.equal(dnsNameProblem(name), undefined, name);
  }
  const bad: [string, RegExp][] = [
    ["", /empty/],
    [".", /empty/],
    [`${"a".repeat(64)}.com`, /label longer than 63/],
    [`${"a.".repeat(127)}ab`, /name longer than 253/],
    ["a..b", /bad name/],
    ["-a.example", /bad name/],
    ["a b.example", /bad name a b\.example/],
    ["a\x00b", /bad name a\\x00b/],
    ["évil.example", /bad name/],
    ["1.2.3", /bad IPv4 address/],
    ["256.1.1.1", /bad IPv4 address/],
    ["010.0.0.1", /bad IPv4 address/],
    ["0x7f.1", /bad IPv4 address/],
  ];
  for (const [name, expected] of bad) assert.match(dnsNameProblem(name) ?? "", expected, JSON.stringify(name));
});

test("bad names are refused before any server is asked", async () => {
  const server = await dnsServer(() => ({ rcode: 0 }));
  let lookups = 0;
  const resolver = new RealResolver({
    servers: [server.address],
    lookup: async () => {
      lookups++;
      return { address: "127.0.0.1", family: 4 };
    },
  });
  try {
    const longLabel = await srv(resolver, `_xmpp-client._tcp.${"a".repeat(64)}.com`);
    assert.deepEqual(longLabel, { records: [], error: "SRV: label longer than 63 characters" });
    const spaced = await a(resolver, "exa mple.com");
    assert.deepEqual(spaced, { address: undefined, error: "A: bad name exa mple.com" });
    const tooLong = await a(resolver, "a".repeat(254));
    assert.match(tooLong.error ?? "", /^A: name longer than 253 characters$/);
    assert.deepEqual(server.queries, []);
    assert.equal(lookups, 0);
  } finally {
    server.close();
  }
});

test("SRV answers: unusable records dropped (port 0, target '.'), at most 32 kept", async () => {
  const many: Srv[] = Array.from({ length: 40 }, (_, i) => ({ priority: i, weight: 1, port: 5222, target: `h${i}.example.com` }));
  const server = await dnsServer((name) => {
    if (name === XMPP) {
      return {
        rcode: 0,
        records: [
          { priority: 0, weight: 0, port: 0, target: "zero.example.com" },
          { priority: 0, weight: 0, port: 5222, target: "" },
          { priority: 5, weight: 10, port: 5223, target: "good.example.com" },
        ],
      };
    }
    if (name === `_xmpp-client._tcp.many.example`) return { rcode: 0, records: many };
    return { rcode: 0, records: [{ priority: 0, weight: 0, port: 0, target: "zero.example.com" }] };
  });
  try {
    const resolver = new RealResolver({ servers: [server.address] });
    assert.deepEqual(await srv(resolver, XMPP), { records: [{ port: 5223, priority: 5, weight: 10, target: "good.example.com" }], error: undefined });
    const bounded = await srv(resolver, "_xmpp-client._tcp.many.example");
    assert.equal(bounded.records.length, DNS_SRV_RECORDS_MAX);
    assert.deepEqual(await srv(resolver, "_xmpp-client._tcp.only-bad.example"), { records: [], error: "SRV: no usable records" });
  } finally {
    server.close();
  }
});

test("usableSrv: targets longer than 255 characters, bad names and out-of-range numbers are dropped", () => {
  const long = `${"a".repeat(60)}.`.repeat(5) + "com";
  assert.deepEqual(
    usableSrv([
      { name: long, port: 1, priority: 0, weight: 0 },
      { name: "bad name", port: 1, priority: 0, weight: 0 },
      { name: "ok.example", port: 65536, priority: 0, weight: 0 },
      { name: "ok.example", port: 65535, priority: 70000, weight: -1 },
    ]),
    [{ target: "ok.example", port: 65535, priority: 0, weight: 0 }],
  );
});

test("SRV failures: empty answer, NXDOMAIN, SERVFAIL and silence each give [] with their reason", async () => {
  const server = await dnsServer((name) => {
    if (name.startsWith("_xmpp-client._tcp.empty")) return { rcode: 0 };
    if (name.startsWith("_xmpp-client._tcp.nx")) return { rcode: 3 };
    if (name.startsWith("_xmpp-client._tcp.servfail")) return { rcode: 2 };
    return "silent";
  });
  try {
    const resolver = new RealResolver({ servers: [server.address], srvTimeoutMs: 200 });
    assert.deepEqual(await srv(resolver, "_xmpp-client._tcp.empty.example"), { records: [], error: "SRV: no records" });
    assert.deepEqual(await srv(resolver, "_xmpp-client._tcp.nx.example"), { records: [], error: "SRV: no such name" });
    assert.deepEqual(await srv(resolver, "_xmpp-client._tcp.servfail.example"), { records: [], error: "SRV: server failure" });
    const silent = await srv(resolver, "_xmpp-client._tcp.silent.example");
    assert.deepEqual(silent.records, []);
    assert.match(silent.error ?? "", /^SRV: timeout/);
  } finally {
    server.close();
  }
});

test("A: a failed, hanging or non-IPv4 lookup gives undefined with its reason; hanging lookups are bounded", async () => {
  const hang = () => new Promise<LookupAddress>(() => {});
  const results: Record<string, () => Promise<LookupAddress>> = {
    "missing.example": async () => {
      throw Object.assign(new Error("getaddrinfo ENOTFOUND"), { code: "ENOTFOUND" });
    },
    "six.example": async () => ({ address: "::1", family: 6 }),
    "garbage.example": async () => ({ address: "1.2.3.4 ; rm", family: 4 }),
    "good.example": async () => ({ address: "10.0.0.7", family: 4 }),
  };
  const resolver = new RealResolver({ aTimeoutMs: 50, lookup: (name) => (results[name] ?? hang)() });
  assert.deepEqual(await a(resolver, "missing.example"), { address: undefined, error: "A: no such name" });
  assert.deepEqual(await a(resolver, "six.example"), { address: undefined, error: "A: bad answer" });
  assert.deepEqual(await a(resolver, "garbage.example"), { address: undefined, error: "A: bad answer" });
  assert.deepEqual(await a(resolver, "good.example"), { address: "10.0.0.7", error: undefined });
  assert.deepEqual(await a(resolver, "hang1.example"), { address: undefined, error: "A: timeout after 50 ms" });
  assert.deepEqual(await a(resolver, "hang2.example"), { address: undefined, error: "A: timeout after 50 ms" });
  // Both still hang (getaddrinfo cannot be cancelled): a third fails at once instead of queueing behind them.
  assert.deepEqual(await a(resolver, "good.example"), { address: undefined, error: "A: 2 earlier lookups still hang" });
});

test("A through the system: localhost and a dotted address resolve without any DNS server", async () => {
  const resolver = new RealResolver();
  assert.deepEqual(await a(resolver, "localhost"), { address: "127.0.0.1", error: undefined });
  assert.deepEqual(await a(resolver, "127.0.0.1"), { address: "127.0.0.1", error: undefined });
});
