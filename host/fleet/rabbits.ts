// The rabbits of one fleet process: each a module instance (one compiled module shared by all), on one shared
// clock, with in-memory flash (or a directory written in the background), real TCP and HTTP from a 127.x source
// address of its own group, and a caching resolver. What they do is counted here, in fixed-size arrays: no log
// lines, no per-event objects.

import { compileModule } from "../core.js";
import { createHash } from "node:crypto";
import { Rabbit, type RabbitListener } from "../rabbit.js";
import { Flash } from "../vm/flash.js";
import { RealHttp, type HttpAnswer, type HttpClient } from "../vm/http.js";
import { RealNetwork, type Connection, type ConnectionEvents, type Network } from "../vm/network.js";
import { FleetResolver } from "./resolver.js";
import { Histogram, Reasons, type WorkerTotals } from "./report.js";
import { SharedScheduler } from "./scheduler.js";
import type { FlashStore } from "./flash-store.js";
import type { WorkerConfig } from "./protocol.js";

/** HTTP requests in flight per fleet process; more wait their turn (the lab's own bound is 1,024 for all). */
export const FLEET_HTTP_IN_FLIGHT_MAX = 128;
/** Rabbits per lab XMPP port: each (address, port) pair has about 28,000 ephemeral ports on loopback. */
export const RABBITS_PER_XMPP_PORT = 20_000;
/** Rabbits booted per turn of the event loop when all start at once: sockets get their turn in between. */
const BOOTS_PER_TURN_MAX = 250;

/** A worker's rabbits (protocol.ts's WorkerConfig, with the MAC base as a number and the flash store made). */
export type FleetRabbitsConfig = Omit<WorkerConfig, "index" | "macBase" | "flashDir" | "memoryBytesMax"> & {
  macBase: bigint;
  flashStore?: FlashStore;
};

/**
 * The password of a fleet rabbit that registered long ago (--registered): the first 12 hex digits of
 * SHA-1("nabaztag-vm fleet " + MAC), so that a platform can be given the same accounts (the fleet's own lab creates them).
 */
export function fleetPassword(mac: string): string {
  return createHash("sha1").update(`nabaztag-vm fleet ${mac}`).digest("hex").slice(0, 12);
}

/** The MAC of the fleet's `index`-th rabbit: the base plus the index, as 12 hex digits. */
export function fleetMac(base: bigint, index: number): string {
  return ((base + BigInt(index)) & 0xffff_ffff_ffffn).toString(16).padStart(12, "0");
}

/** Connections to the lab's first XMPP port go to the `index`-th rabbit's port of the lab's several. */
class PortSpread implements Network {
  constructor(private readonly inner: Network, private readonly ports: number[], private readonly index: number) {}

  open(address: string, port: number, events: ConnectionEvents): Connection {
    const spread = port === this.ports[0] ? this.ports[Math.floor(this.index / RABBITS_PER_XMPP_PORT) % this.ports.length]! : port;
    return this.inner.open(address, spread, events);
  }
}

/** A bound on HTTP requests in flight for all the rabbits of a process; the rest wait in order. */
class HttpGate {
  private inFlight = 0;
  private readonly queue: (() => void)[] = [];

  /** Requests waiting for a slot. */
  get waiting(): number {
    return this.queue.length;
  }

  run(start: (release: () => void) => void): void {
    if (this.inFlight < FLEET_HTTP_IN_FLIGHT_MAX) this.begin(start);
    else this.queue.push(() => this.begin(start));
  }

  private begin(start: (release: () => void) => void): void {
    this.inFlight++;
    let released = false;
    start(() => {
      if (released) return;
      released = true;
      this.inFlight--;
      this.queue.shift()?.();
    });
  }
}

class GatedHttp implements HttpClient {
  constructor(private readonly gate: HttpGate, private readonly inner: RealHttp) {}

  get(url: string, done: (answer: HttpAnswer) => void, wantBody = true): void {
    this.gate.run((release) => this.inner.get(url, (answer) => {
      release();
      done(answer);
    }, wantBody));
  }
}

/** The reason of a failure, short and without the parts that differ from rabbit to rabbit. */
function reason(kind: string, text: string): string {
  const cut = text.indexOf(" (");
  return `${kind}: ${(cut > 0 ? text.slice(0, cut) : text).slice(0, 80)}`;
}

/** What one rabbit does, counted: one small object per rabbit (methods on the prototype, not closures). */
class RabbitCounter implements RabbitListener {
  constructor(private readonly fleet: FleetRabbits, private readonly local: number) {}

  booted(): void {
    this.fleet.booted();
  }

  rebooting(): void {
    this.fleet.rebooting(this.local);
  }

  http(url: string): void {
    if (url.includes("/locate.jsp")) this.fleet.locating();
  }

  httpAnswered(url: string, _status: number, error: string | undefined): void {
    if (error) this.fleet.failed(this.local, reason(url.includes("/locate.jsp") ? "locate.jsp" : "http", error));
  }

  dnsFailed(type: "A" | "SRV", _name: string, error: string): void {
    if (type === "A") this.fleet.failed(this.local, reason("dns", error));
  }

  connecting(): void {
    this.fleet.connecting(this.local);
  }

  closed(_handle: number, by: "rabbit" | "peer"): void {
    if (by === "peer") this.fleet.closedByPeer(this.local);
  }

  report(kind: string, payload: Uint8Array): void {
    this.fleet.report(this.local, kind, payload);
  }
}

export class FleetRabbits {
  readonly scheduler: SharedScheduler;
  private readonly rabbits: Rabbit[] = [];
  private readonly gate = new HttpGate();
  private readonly resolver = new FleetResolver();
  // Per rabbit, by local index.
  private readonly startedAt: Float64Array;
  private readonly online: Uint8Array;
  private readonly everOnline: Uint8Array;
  private readonly phase: string[];
  private readonly failures = new Reasons();
  private readonly latency = new Histogram();
  private counts = { started: 0, online: 0, everOnline: 0, logins: 0, saslLogins: 0, boots: 0, locateCalls: 0, connections: 0, reconnects: 0, retrying: 0 };
  private readonly failedOnce: Uint8Array;
  /** Rabbits per status (the module's status names, and "rebooting"): the fleet view's counts by state. */
  private readonly statuses = new Map<string, number>();
  private stopped = false;
  /** The modules the rabbits run (each Rabbit.variant once). */
  private readonly builds = new Set<string>();

  constructor(private readonly config: FleetRabbitsConfig, onError: (error: unknown) => void) {
    this.scheduler = new SharedScheduler(onError);
    this.startedAt = new Float64Array(config.count);
    this.online = new Uint8Array(config.count);
    this.everOnline = new Uint8Array(config.count);
    this.failedOnce = new Uint8Array(config.count);
    this.phase = new Array<string>(config.count);
    compileModule(config.build);
  }

  /** Starts the rabbits: at the ramp's rate, or all at once in slices that leave the sockets their turn. */
  start(): void {
    const { count, rampPerSecond } = this.config;
    if (rampPerSecond === null) {
      let next = 0;
      // As fast as this process can boot them while it keeps up with the ones already booted: a slice waits while
      // their HTTP requests queue (a locate.jsp left waiting 10 s in this process would be retried by the rabbit).
      const slice = () => {
        if (this.gate.waiting > BOOTS_PER_TURN_MAX) return void setTimeout(slice, 5);
        const end = Math.min(count, next + BOOTS_PER_TURN_MAX);
        for (; next < end && !this.stopped; next++) this.startOne(next);
        if (next < count && !this.stopped) setImmediate(slice);
      };
      slice();
      return;
    }
    for (let i = 0; i < count; i++) this.scheduler.after((i * 1000) / rampPerSecond, () => this.startOne(i));
  }

  private startOne(local: number): void {
    if (this.stopped) return;
    const global = this.config.first + local;
    const mac = fleetMac(this.config.macBase, global);
    const flash = this.config.flashStore?.flashFor(mac, this.config.platform) ?? memoryFlash(this.config.platform);
    if (this.config.registered && flash.password() === undefined) flash.setPassword(fleetPassword(mac));
    const real = new RealNetwork({ onError: (code) => this.fail(local, `tcp: ${code}`) });
    const ports = this.config.xmppPorts;
    const network = ports && ports.length > 1 ? new PortSpread(real, ports, global) : real;
    const rabbit = new Rabbit({
      mac,
      profile: this.config.profile,
      variant: this.config.build,
      registration: this.config.registration,
      sasl: this.config.sasl,
      flash,
      scheduler: this.scheduler,
      network,
      http: new GatedHttp(this.gate, new RealHttp()),
      resolver: this.resolver,
      listener: this.listener(local),
      ticks: "due",
    });
    this.rabbits[local] = rabbit;
    this.builds.add(rabbit.variant);
    this.startedAt[local] = this.scheduler.now();
    this.counts.started++;
    this.setPhase(local, "booting");
    rabbit.start();
  }

  private fail(local: number, why: string): void {
    this.failures.add(why);
    if (!this.failedOnce[local]) {
      this.failedOnce[local] = 1;
      this.counts.retrying++;
    }
  }

  private setOnline(local: number, online: boolean): void {
    if (this.online[local] === (online ? 1 : 0)) return;
    this.online[local] = online ? 1 : 0;
    this.counts.online += online ? 1 : -1;
    if (!online) return;
    this.counts.logins++;
    if (this.failedOnce[local]) {
      this.failedOnce[local] = 0;
      this.counts.retrying--;
    }
    if (this.everOnline[local]) return;
    this.everOnline[local] = 1;
    this.counts.everOnline++;
    this.latency.add(this.scheduler.now() - this.startedAt[local]!);
  }

  private listener(local: number): RabbitListener {
    return new RabbitCounter(this, local);
  }

  /** Called by each rabbit's RabbitCounter. */
  booted(): void {
    this.counts.boots++;
  }

  locating(): void {
    this.counts.locateCalls++;
  }

  connecting(local: number): void {
    this.counts.connections++;
    if (this.everOnline[local]) this.counts.reconnects++;
  }

  closedByPeer(local: number): void {
    if (!this.online[local]) this.fail(local, `xmpp: closed by the platform while ${this.phase[local]}`);
    this.setOnline(local, false);
  }

  failed(local: number, why: string): void {
    this.fail(local, why);
  }

  offline(local: number): void {
    this.setOnline(local, false);
  }

  rebooting(local: number): void {
    this.setOnline(local, false);
    this.setPhase(local, "rebooting");
  }

  private setPhase(local: number, phase: string): void {
    const old = this.phase[local];
    if (old !== undefined && this.statuses.has(old)) this.statuses.set(old, this.statuses.get(old)! - 1);
    this.phase[local] = phase;
    this.statuses.set(phase, (this.statuses.get(phase) ?? 0) + 1);
  }

  report(local: number, kind: string, payload: Uint8Array): void {
    if (kind === "online") return this.setOnline(local, true);
    if (kind !== "status" && kind !== "reboot" && kind !== "error") return;
    const text = Buffer.from(payload).toString("latin1");
    if (kind === "status") {
      this.setPhase(local, text);
      if (text === "loggedin") this.counts.saslLogins++;
      if (text === "registration-error") this.fail(local, "xmpp: registration refused");
      if (text !== "opened" && text !== "loggedin") this.setOnline(local, false);
    } else this.fail(local, reason(kind === "reboot" ? "reboot" : "rabbit", text));
  }

  /** The numbers for the progress line. */
  progress(): { started: number; online: number; everOnline: number; retrying: number; logins: number; statuses: Record<string, number> } {
    const c = this.counts;
    return { started: c.started, online: c.online, everOnline: c.everOnline, retrying: c.retrying, logins: c.logins, statuses: Object.fromEntries(this.statuses) };
  }

  /** Stops every rabbit (closes its connections); nothing more runs. */
  stop(): void {
    this.stopped = true;
    for (const rabbit of this.rabbits) rabbit?.stop();
    this.scheduler.close();
  }

  totals(extra: { cpuMs: number; rssBytes: number; rssBaseBytes: number }): WorkerTotals {
    const c = this.counts;
    return {
      rabbits: this.config.count,
      started: c.started,
      online: c.online,
      everOnline: c.everOnline,
      logins: c.logins,
      saslLogins: c.saslLogins,
      boots: c.boots,
      locateCalls: c.locateCalls,
      connections: c.connections,
      reconnects: c.reconnects,
      loginMs: this.latency.toJSON(),
      failures: this.failures.toJSON(),
      lagMsMax: this.scheduler.stats.lagMsMax,
      flashWriteFailures: this.config.flashStore?.failures ?? 0,
      builds: [...this.builds],
      ...extra,
    };
  }
}

/** A flash sector in memory only, with the platform's URL. */
function memoryFlash(platform: string): Flash {
  const flash = new Flash();
  flash.setServerUrl(platform);
  return flash;
}
