// The rabbit's DNS (spec §2, §4): SRV records and A addresses. Real (node:dns, with the device's timeouts: SRV 7 s,
// A 5 s) or virtual (tables, through the scheduler).

import { promises as dns } from "node:dns";
import type { Scheduler } from "./scheduler.js";

export interface SrvRecord {
  port: number;
  priority: number;
  weight: number;
  target: string;
}

export interface Resolver {
  /** SRV records of `name`; [] when there are none or the lookup failed. */
  srv(name: string, done: (records: SrvRecord[]) => void): void;
  /** An IPv4 address of `name`, or undefined. */
  a(name: string, done: (address: string | undefined) => void): void;
}

function withTimeout<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(fallback), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      () => {
        clearTimeout(timer);
        resolve(fallback);
      },
    );
  });
}

export class RealResolver implements Resolver {
  srv(name: string, done: (records: SrvRecord[]) => void): void {
    void withTimeout(dns.resolveSrv(name).then((records) => records.map((r) => ({ port: r.port, priority: r.priority, weight: r.weight, target: r.name }))), 7000, []).then(done);
  }

  a(name: string, done: (address: string | undefined) => void): void {
    // lookup (not resolve4) so that /etc/hosts names, such as localhost, work as on any host.
    void withTimeout(dns.lookup(name, { family: 4 }).then((result) => result.address as string | undefined), 5000, undefined).then(done);
  }
}

export class VirtualResolver implements Resolver {
  constructor(
    private readonly scheduler: Scheduler,
    private readonly addresses: Record<string, string> = {},
    private readonly services: Record<string, SrvRecord[]> = {},
  ) {}

  srv(name: string, done: (records: SrvRecord[]) => void): void {
    this.scheduler.after(0, () => done(this.services[name] ?? []));
  }

  a(name: string, done: (address: string | undefined) => void): void {
    this.scheduler.after(0, () => done(this.addresses[name]));
  }
}
