// The rabbit's DNS (spec §2, §4): SRV records and A addresses. Real (node:dns, with the device's timeouts: SRV 7 s,
// A 5 s) or virtual (tables, through the scheduler). Names come from the network (locate.jsp, SRV targets): they are
// checked before anyone is asked, and answers are bounded so they always fit the module's IO_IN in one delivery.

import { promises as dns, type LookupAddress } from "node:dns";
import type { Scheduler } from "./scheduler.js";

export interface SrvRecord {
  port: number;
  priority: number;
  weight: number;
  target: string;
}

/** A failed lookup's reason, one short line ("SRV: no such name", "timeout after 7000 ms", ...). */
export type DnsError = string;

export interface Resolver {
  /** SRV records of `name`; [] when there are none or the lookup failed (then `error` says why). */
  srv(name: string, done: (records: SrvRecord[], error?: DnsError) => void): void;
  /** An IPv4 address of `name`, or undefined (then `error` says why). */
  a(name: string, done: (address: string | undefined, error?: DnsError) => void): void;
}

/** A DNS name's longest text form (RFC 1035: 255 bytes on the wire), without a final dot. */
export const DNS_NAME_CHARS_MAX = 253;
export const DNS_LABEL_CHARS_MAX = 63;
/** SRV answers kept: 32 × (7 + 255) bytes = 8384, inside the module's 16384-byte IO_IN (one dns_done). */
export const DNS_SRV_RECORDS_MAX = 32;
/** The module's SRV record carries the target's length in one byte. */
export const DNS_SRV_TARGET_CHARS_MAX = 255;
export const DNS_SRV_TIMEOUT_MS = 7000;
export const DNS_A_TIMEOUT_MS = 5000;
/**
 * getaddrinfo cannot be cancelled and runs on libuv's 4 threads (shared with file writes): lookups still running
 * after their timeout count here, and beyond this many a new one fails at once instead of queueing behind them.
 */
export const DNS_A_LOOKUPS_PENDING_MAX = 2;

const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?$/;
const NUMERIC_LABEL = /^(?:\d+|0x[0-9a-f]*)$/i;
const OCTET = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Why `name` is not a sane DNS name or dotted IPv4 address, or undefined if it is one. */
export function dnsNameProblem(name: string): string | undefined {
  const bare = name.endsWith(".") ? name.slice(0, -1) : name;
  if (bare.length === 0) return "empty name";
  if (bare.length > DNS_NAME_CHARS_MAX) return `name longer than ${DNS_NAME_CHARS_MAX} characters`;
  const labels = bare.split(".");
  for (const label of labels) {
    if (label.length > DNS_LABEL_CHARS_MAX) return `label longer than ${DNS_LABEL_CHARS_MAX} characters`;
    if (!LABEL.test(label)) return `bad name ${printable(name)}`;
  }
  // A numeric last label is an address: getaddrinfo would also read "1.2.3", "0x7f.1" or "010.0.0.1" as one.
  if (NUMERIC_LABEL.test(labels[labels.length - 1]!)) {
    if (labels.length !== 4 || !labels.every((label) => OCTET.test(label))) return `bad IPv4 address ${printable(name)}`;
  }
  return undefined;
}

/** Text safe to put in a one-line message: control and non-ASCII characters escaped, at most `max` characters. */
export function printable(text: string, max = 80): string {
  const escaped = text.replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  return escaped.length > max ? `${escaped.slice(0, max)}...` : escaped;
}

/** Node's DNS error codes as one short reason. */
function dnsReason(error: unknown): DnsError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case "ENOTFOUND":
      return "no such name";
    case "ENODATA":
      return "no records";
    case "ESERVFAIL":
      return "server failure";
    case "EREFUSED":
      return "query refused";
    case "ETIMEOUT":
      return "timeout";
    case "ECONNREFUSED":
      return "no DNS server answered";
    case "EBADRESP":
    case "EFORMERR":
      return "bad answer";
    case "EAI_AGAIN":
      return "temporary failure";
    default:
      return code ? `failed (${code})` : "failed";
  }
}

/** The records a rabbit can use: sane targets, ports 1..65535, at most DNS_SRV_RECORDS_MAX of them. */
export function usableSrv(records: { name: string; port: number; priority: number; weight: number }[]): SrvRecord[] {
  const usable: SrvRecord[] = [];
  for (const r of records) {
    if (usable.length >= DNS_SRV_RECORDS_MAX) break;
    // "." (node: "") means "no such service here" (RFC 2782).
    if (r.name.length > DNS_SRV_TARGET_CHARS_MAX || dnsNameProblem(r.name) !== undefined) continue;
    if (!Number.isInteger(r.port) || r.port < 1 || r.port > 65535) continue;
    const u16 = (n: number) => (Number.isInteger(n) && n >= 0 && n <= 65535 ? n : 0);
    usable.push({ port: r.port, priority: u16(r.priority), weight: u16(r.weight), target: r.name });
  }
  return usable;
}

export interface RealResolverOptions {
  /** DNS servers for SRV ("127.0.0.1:5353"); default: the system's. */
  servers?: string[];
  /** The A lookup (default: dns.lookup, so /etc/hosts names such as localhost work as on any host). */
  lookup?: (name: string) => Promise<LookupAddress>;
  srvTimeoutMs?: number;
  aTimeoutMs?: number;
}

/** Each callback comes exactly once, asynchronously, and never throws. */
export class RealResolver implements Resolver {
  private lookupsPending = 0;

  constructor(private readonly options: RealResolverOptions = {}) {}

  srv(name: string, done: (records: SrvRecord[], error?: DnsError) => void): void {
    const problem = dnsNameProblem(name);
    if (problem) return void setImmediate(() => done([], `SRV: ${problem}`));
    const timeoutMs = this.options.srvTimeoutMs ?? DNS_SRV_TIMEOUT_MS;
    const resolver = new dns.Resolver({ timeout: timeoutMs, tries: 1 });
    if (this.options.servers) resolver.setServers(this.options.servers);
    const query = resolver.resolveSrv(name).then((records) => {
      const usable = usableSrv(records);
      if (usable.length > 0) return { records: usable };
      return { records: [], error: records.length === 0 ? "SRV: no records" : "SRV: no usable records" };
    });
    void settle(query, timeoutMs, () => resolver.cancel()).then((outcome) => {
      if (outcome === "timeout") done([], `SRV: timeout after ${timeoutMs} ms`);
      else if ("failure" in outcome) done([], `SRV: ${dnsReason(outcome.failure)}`);
      else done(outcome.value.records, outcome.value.error);
    });
  }

  a(name: string, done: (address: string | undefined, error?: DnsError) => void): void {
    const problem = dnsNameProblem(name);
    if (problem) return void setImmediate(() => done(undefined, `A: ${problem}`));
    if (this.lookupsPending >= DNS_A_LOOKUPS_PENDING_MAX) {
      return void setImmediate(() => done(undefined, `A: ${this.lookupsPending} earlier lookups still hang`));
    }
    const timeoutMs = this.options.aTimeoutMs ?? DNS_A_TIMEOUT_MS;
    const lookup = this.options.lookup ?? ((host: string) => dns.lookup(host, { family: 4 }));
    this.lookupsPending++;
    const query = Promise.resolve()
      .then(() => lookup(name))
      .finally(() => this.lookupsPending--);
    void settle(query, timeoutMs).then((outcome) => {
      if (outcome === "timeout") done(undefined, `A: timeout after ${timeoutMs} ms`);
      else if ("failure" in outcome) done(undefined, `A: ${dnsReason(outcome.failure)}`);
      else if (outcome.value.family !== 4 || dnsNameProblem(outcome.value.address) !== undefined) done(undefined, "A: bad answer");
      else done(outcome.value.address);
    });
  }
}

/** The promise's value or failure, or "timeout" after `ms` (then `onTimeout` runs). Never rejects. */
function settle<T>(promise: Promise<T>, ms: number, onTimeout?: () => void): Promise<{ value: T } | { failure: unknown } | "timeout"> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      resolve("timeout");
      onTimeout?.();
    }, ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve({ value });
      },
      (failure: unknown) => {
        clearTimeout(timer);
        resolve({ failure });
      },
    );
  });
}

export class VirtualResolver implements Resolver {
  constructor(
    private readonly scheduler: Scheduler,
    private readonly addresses: Record<string, string> = {},
    private readonly services: Record<string, SrvRecord[]> = {},
  ) {}

  srv(name: string, done: (records: SrvRecord[], error?: DnsError) => void): void {
    this.scheduler.after(0, () => {
      const records = Object.hasOwn(this.services, name) ? this.services[name]! : [];
      done(records, records.length === 0 ? "SRV: no records" : undefined);
    });
  }

  a(name: string, done: (address: string | undefined, error?: DnsError) => void): void {
    this.scheduler.after(0, () => {
      const address = Object.hasOwn(this.addresses, name) ? this.addresses[name] : undefined;
      done(address, address === undefined ? "A: no such name" : undefined);
    });
  }
}
