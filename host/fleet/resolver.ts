// DNS for a fleet process: what a home router's cache does for the rabbits behind it. IPv4 literals and "localhost"
// (RFC 6761: never sent to DNS) are answered at once; other names go to the real resolver once per
// FLEET_DNS_TTL_MS, and lookups of one name in flight are shared. Answers are always asynchronous, as the VM's are.

import { isIPv4 } from "node:net";
import { RealResolver, type DnsError, type Resolver, type SrvRecord } from "../vm/dns.js";

/** How long an answer (or a failure) is kept. */
export const FLEET_DNS_TTL_MS = 60_000;
/** Names kept; beyond, the oldest is forgotten. */
export const FLEET_DNS_NAMES_MAX = 256;

interface Cached<T> {
  at: number;
  value?: T;
  waiting?: ((value: T) => void)[];
}

type AAnswer = { address: string | undefined; error?: DnsError };
type SrvAnswer = { records: SrvRecord[]; error?: DnsError };

function isLocal(name: string): boolean {
  const lower = name.toLowerCase().replace(/\.$/, "");
  return lower === "localhost" || lower.endsWith(".localhost");
}

export class FleetResolver implements Resolver {
  private readonly aCache = new Map<string, Cached<AAnswer>>();
  private readonly srvCache = new Map<string, Cached<SrvAnswer>>();

  constructor(private readonly real: Resolver = new RealResolver()) {}

  a(name: string, done: (address: string | undefined, error?: DnsError) => void): void {
    if (isIPv4(name)) return void setImmediate(() => done(name));
    if (isLocal(name)) return void setImmediate(() => done("127.0.0.1"));
    this.cached(this.aCache, name, (finish) => this.real.a(name, (address, error) => finish({ address, error })), (answer) => done(answer.address, answer.error));
  }

  srv(name: string, done: (records: SrvRecord[], error?: DnsError) => void): void {
    // A name under localhost has no SRV records (RFC 6761): the rabbit goes on to its A lookup.
    if (isLocal(name) || isIPv4(name.replace(/^_xmpp-client\._tcp\./, ""))) return void setImmediate(() => done([], "SRV: no records"));
    this.cached(this.srvCache, name, (finish) => this.real.srv(name, (records, error) => finish({ records, error })), (answer) => done(answer.records, answer.error));
  }

  private cached<T>(cache: Map<string, Cached<T>>, name: string, ask: (finish: (value: T) => void) => void, done: (value: T) => void): void {
    const key = name.toLowerCase();
    const entry = cache.get(key);
    const now = performance.now();
    if (entry && entry.value !== undefined && now - entry.at < FLEET_DNS_TTL_MS) return void setImmediate(() => done(entry.value!));
    if (entry?.waiting) return void entry.waiting.push(done);
    if (cache.size >= FLEET_DNS_NAMES_MAX) cache.delete(cache.keys().next().value!);
    const fresh: Cached<T> = { at: now, waiting: [done] };
    cache.set(key, fresh);
    ask((value) => {
      const waiting = fresh.waiting ?? [];
      fresh.waiting = undefined;
      fresh.value = value;
      fresh.at = performance.now();
      for (const wait of waiting) wait(value);
    });
  }
}
