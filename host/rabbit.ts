// A virtual rabbit: one module instance and the VM services around it (vm/). The host calls the module's entry
// points (boot, tick, the TCP/HTTP/DNS callbacks) from the scheduler's loop only, never from inside an import, as
// the bytecode VM did; a reboot replaces the instance and keeps the flash.

import { compileModule, coreImports, DNS_TYPE_SRV, TCP_EVENT_CLOSED, TCP_EVENT_DATA, TCP_EVENT_WRITABLE, type CoreExports, type CoreServices, type RabbitExports, type Variant } from "./core.js";
import { profileQuirks, quirkIndex, type Profile, type QuirkSettings } from "./quirks.js";
import type { Resolver } from "./vm/dns.js";
import type { Flash } from "./vm/flash.js";
import type { HttpClient } from "./vm/http.js";
import type { Connection, Network } from "./vm/network.js";
import { SecureRandom, VmRandom } from "./vm/random.js";
import type { Scheduler, Timer } from "./vm/scheduler.js";

/** vm.report kinds (assembly/rabbit/report.ts). */
export const REPORT_KINDS: Record<number, string> = {
  1: "status",
  2: "state",
  3: "online",
  4: "frame",
  5: "packet-error",
  6: "error",
  7: "reboot",
  8: "resource",
};

/** The mechanisms `sasl_force` takes, by number (0: the profile chooses). */
export const SASL_MECHANISMS = ["none", "DIGEST-MD5", "SCRAM-SHA-1", "PLAIN"] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/**
 * The registration forms `register_form_set` takes, by number (assembly/xmpp/register.ts): stock (rev 18673 as
 * shipped, violet:iq:register; what OpenJabNab accepts), binary (the published compiled 18673: jabber:iq:register,
 * i.e. XEP-0077), seed (the seed log's patched build: jabber:iq:register plus name and email).
 */
export const REGISTRATION_FORMS = ["stock", "binary", "seed"] as const;
export type RegistrationForm = (typeof REGISTRATION_FORMS)[number];

/** The firmware as shipped registers with the stock form; the standard profile with XEP-0077. */
export function defaultRegistration(profile: Profile): RegistrationForm {
  return profile === "firmware" ? "stock" : "binary";
}

export const STATUS_NAMES = ["booting", "opening", "logging", "loggedin", "opened", "closed", "registration-error"];
export const STATE_NAMES = ["ssLogging", "ssRegister1", "ssRegister2", "ssBind", "ssStartSession", "ssGetSource", "ssPresence", "ssUnBind", "ssFree"];

/** What a rabbit does, for whoever watches it (the CLI, the replay, the tests). */
export interface RabbitListener {
  /** A UART line, without its "\n". */
  uart?(line: string): void;
  report?(kind: string, payload: Uint8Array): void;
  led?(index: number, rgb: number): void;
  /** Connection events: opened (to address:port), bytes sent (taken by the connection) and received, closed. */
  connecting?(handle: number, address: string, port: number): void;
  sent?(handle: number, bytes: Uint8Array): void;
  received?(handle: number, bytes: Uint8Array): void;
  closed?(handle: number, by: "rabbit" | "peer"): void;
  http?(url: string, wantBody: boolean): void;
  /** The answer to a GET the module waits for: its status (-1: none) and, unless a plain 200, why. */
  httpAnswered?(url: string, status: number, error: string | undefined): void;
  dns?(type: "A" | "SRV", name: string): void;
  /** A DNS lookup failed or found nothing: why. */
  dnsFailed?(type: "A" | "SRV", name: string, error: string): void;
  flashWritten?(offset: number, bytes: Uint8Array): void;
  booted?(count: number): void;
  rebooting?(): void;
}

/** Every listener method, for combining listeners. */
const LISTENER_METHODS = [
  "uart", "report", "led", "connecting", "sent", "received", "closed", "http", "httpAnswered", "dns", "dnsFailed", "flashWritten",
  "booted", "rebooting",
] as const satisfies readonly (keyof RabbitListener)[];

/** One listener that hands every event to each of `listeners`, in order. */
export function combineListeners(...listeners: RabbitListener[]): RabbitListener {
  const combined: Record<string, (...args: never[]) => void> = {};
  for (const method of LISTENER_METHODS) {
    const handlers = listeners.filter((listener) => typeof listener[method] === "function");
    if (handlers.length === 0) continue;
    combined[method] = (...args: never[]) => {
      for (const listener of handlers) (listener[method] as (...args: never[]) => void).apply(listener, args);
    };
  }
  return combined as RabbitListener;
}

export interface RabbitOptions {
  /** 6 bytes, or "f8:1e:df:ee:27:c1", or "f81edfee27c1". */
  mac: string | Uint8Array;
  profile?: Profile;
  /** Single quirks on top of the profile. */
  quirks?: QuirkSettings;
  /** A SASL mechanism to use whatever the profile would choose (`--sasl`). */
  sasl?: SaslMechanism;
  /** The registration form (`--registration`); default: the profile's (defaultRegistration). */
  registration?: RegistrationForm;
  flash: Flash;
  scheduler: Scheduler;
  network: Network;
  http: HttpClient;
  resolver: Resolver;
  random?: VmRandom;
  secure?: SecureRandom;
  /** The module to run; default: `device` for a rabbit the device build can be (firmwareOnly), else `release`. */
  variant?: Variant;
  listener?: RabbitListener;
  /** The main loop's period (20 Hz). */
  tickMs?: number;
  /**
   * "every": a tick every tickMs, as the VM did (replays, the port kit's recordings). "due" (the default): a tick only
   * when the module says one can do something (next_tick_ms), on the same grid: the same behaviour, and an idle rabbit
   * costs nothing.
   */
  ticks?: "every" | "due";
  /** A bug planted in the module on purpose (test_plant): the simulator's own tests. */
  plantedBug?: number;
  /** How long a reboot takes before the fresh instance boots. */
  rebootDelayMs?: number;
}

/**
 * The rabbit is what the device build runs (assembly/device.ts): the `firmware` profile with the firmware's quirks,
 * no SASL mechanism forced and no bug planted. Such a rabbit runs on the device build, one 64 KiB page, unless its
 * options name another variant.
 */
export function firmwareOnly(options: Pick<RabbitOptions, "profile" | "quirks" | "sasl" | "plantedBug">): boolean {
  if ((options.profile ?? "firmware") !== "firmware" || options.sasl !== undefined || options.plantedBug) return false;
  const firmware = profileQuirks("firmware");
  return Object.entries(options.quirks ?? {}).every(([name, on]) => (firmware as Record<string, boolean>)[name] === on);
}

/** The module a rabbit runs unless told: the device build for what it can run, else the release build. */
export function defaultVariant(options: Pick<RabbitOptions, "profile" | "quirks" | "sasl" | "plantedBug">): Variant {
  return firmwareOnly(options) ? "device" : "release";
}

export function parseMac(mac: string | Uint8Array): Uint8Array {
  if (mac instanceof Uint8Array) {
    if (mac.length !== 6) throw new Error("a MAC address has 6 bytes");
    return mac;
  }
  const hex = mac.replace(/[:-]/g, "").toLowerCase();
  if (!/^[0-9a-f]{12}$/.test(hex)) throw new Error(`not a MAC address: ${mac}`);
  return Uint8Array.from(Buffer.from(hex, "hex"));
}

export class Rabbit {
  readonly mac: Uint8Array;
  readonly options: RabbitOptions;
  /** The module this rabbit runs (RabbitOptions.variant). */
  readonly variant: Variant;
  private readonly random: VmRandom;
  private readonly secure: SecureRandom;
  private exports!: RabbitExports;
  private memory!: Uint8Array;
  private bootTime = 0;
  private instanceNumber = 0;
  private tickTimer: Timer | undefined;
  /** With "due" ticks: the time_ms the pending tick is for (-1: none). */
  private tickDueMs = -1;
  private inside = false;
  private rebootPending = false;
  /** Between the reboot and the new instance's boot: the old instance gets nothing more. */
  private rebooting = false;
  private stopped = false;
  private uartLine = "";
  private nextHandle = 1;
  private nextRequest = 1;
  private readonly connections = new Map<number, { connection: Connection; instance: number }>();

  constructor(options: RabbitOptions) {
    this.options = options;
    this.mac = parseMac(options.mac);
    this.variant = options.variant ?? defaultVariant(options);
    if (this.variant === "device" && !firmwareOnly(options)) {
      throw new Error("the device build runs the firmware profile with the firmware's quirks only (no --sasl, no planted bug)");
    }
    this.random = options.random ?? new VmRandom();
    this.secure = options.secure ?? new SecureRandom();
  }

  /** Boots (the first instance). */
  start(): void {
    this.stopped = false;
    this.boot();
  }

  /** Stops: closes the connections, cancels the main loop. The flash is left as it is (always whole). */
  stop(): void {
    this.stopped = true;
    if (this.tickTimer) this.options.scheduler.cancel(this.tickTimer);
    for (const { connection } of this.connections.values()) connection.close();
    this.connections.clear();
  }

  /** Ticks given to the module so far (all instances). */
  tickCalls = 0;
  /** HTTP and DNS requests the module waits for an answer to. */
  private requestsWaiting = 0;

  /**
   * What this rabbit waits for: a tick, open connections, HTTP or DNS answers, a reboot. All zero and false while it is
   * not online is a silent stall (the simulator's invariant).
   */
  waitingFor(): { tick: boolean; connections: number; requests: number; rebooting: boolean } {
    const tick = this.options.ticks === "every" ? !this.stopped : this.tickTimer !== undefined;
    return { tick, connections: this.connections.size, requests: this.requestsWaiting, rebooting: this.rebooting };
  }

  /** Boots so far (1 after start, one more per reboot). */
  get boots(): number {
    return this.instanceNumber;
  }

  /** The module's status and state, by name. */
  get status(): string {
    return STATUS_NAMES[this.exports.rabbit_status()] ?? "?";
  }

  get state(): string {
    return STATE_NAMES[this.exports.rabbit_state()] ?? "?";
  }

  button(clicks: 1 | 2): void {
    this.call(() => this.exports.button(clicks));
  }

  ears(left: number, right: number): void {
    this.call(() => this.exports.ears(left, right));
  }

  /** Moves the rabbit's clock forward by `ms` (a host clock that jumps: simulations). Its timers see the jump. */
  jumpClock(ms: number): void {
    if (ms <= 0) return;
    this.bootTime -= ms;
    this.tickDueMs = -2; // the pending tick's delay was computed on the old clock
    if (this.options.ticks !== "every" && this.exports) this.scheduleDueTick();
  }

  /** Milliseconds since the current instance booted (the rabbit's time_ms). */
  timeMs(): number {
    return (this.options.scheduler.now() - this.bootTime) & 0x7fffffff;
  }

  private boot(): void {
    this.rebooting = false;
    const instance = ++this.instanceNumber;
    this.bootTime = this.options.scheduler.now();
    this.random.booted();
    this.uartLine = "";
    let webAssemblyInstance: WebAssembly.Instance | undefined;
    const imports = coreImports(this.services(instance), () => (webAssemblyInstance!.exports as unknown as RabbitExports).memory);
    webAssemblyInstance = new WebAssembly.Instance(compileModule(this.variant), imports);
    this.exports = webAssemblyInstance.exports as unknown as RabbitExports;
    this.memory = new Uint8Array(this.exports.memory.buffer);
    this.applyQuirks();
    this.options.listener?.booted?.(instance);
    this.call(() => this.exports.boot());
    this.scheduleTick(instance);
  }

  /** The settings made before boot: quirks, SASL mechanism, planted bug (the device build has them for good), form. */
  private applyQuirks(): void {
    if (this.variant !== "device") {
      const full = this.exports as CoreExports;
      const settings = { ...profileQuirks(this.options.profile ?? "firmware"), ...(this.options.quirks ?? {}) };
      for (const [name, on] of Object.entries(settings)) full.quirk_set(quirkIndex(name), on ? 1 : 0);
      if (this.options.sasl) full.sasl_force(SASL_MECHANISMS.indexOf(this.options.sasl));
      if (this.options.plantedBug) full.test_plant(this.options.plantedBug);
    }
    const form = REGISTRATION_FORMS.indexOf(this.registration);
    if (this.exports.register_form_set(form) !== 1) throw new Error(`the module has no registration form ${this.registration}`);
  }

  /** The registration form this rabbit uses. */
  get registration(): RegistrationForm {
    return this.options.registration ?? defaultRegistration(this.options.profile ?? "firmware");
  }

  private scheduleTick(instance: number): void {
    if (this.options.ticks === "every") {
      this.tickTimer = this.options.scheduler.after(this.options.tickMs ?? 50, () => {
        if (this.stopped || instance !== this.instanceNumber) return;
        this.tickCalls++;
        this.call(() => this.exports.tick());
        // A reboot asked for inside this tick stops the old instance's loop (the new one starts its own).
        if (instance === this.instanceNumber && !this.stopped && !this.rebooting) this.scheduleTick(instance);
      });
      return;
    }
    this.scheduleDueTick();
  }

  /** "due" ticks: one timer, at the time the module names (rescheduled after every entry into the module). */
  private scheduleDueTick(): void {
    if (this.stopped || this.rebooting) return;
    const due = this.exports.next_tick_ms();
    if (due === this.tickDueMs && this.tickTimer) return;
    if (this.tickTimer) this.options.scheduler.cancel(this.tickTimer);
    this.tickTimer = undefined;
    this.tickDueMs = due;
    if (due < 0) return;
    const instance = this.instanceNumber;
    this.tickTimer = this.options.scheduler.after(Math.max(0, due - this.timeMs()), () => {
      this.tickTimer = undefined;
      this.tickDueMs = -1;
      if (this.stopped || instance !== this.instanceNumber) return;
      this.tickCalls++;
      this.call(() => this.exports.tick());
    });
  }

  /** Every entry into the module goes through here: never nested, and a reboot asked for inside is done after. */
  private call(enter: () => void): void {
    if (this.stopped) return;
    if (this.inside) throw new Error("the module was entered from inside one of its own imports");
    this.inside = true;
    try {
      enter();
    } finally {
      this.inside = false;
    }
    if (this.rebootPending) {
      this.rebootPending = false;
      this.doReboot();
      return;
    }
    if (this.options.ticks !== "every") this.scheduleDueTick();
  }

  private doReboot(): void {
    this.rebooting = true;
    this.options.listener?.rebooting?.();
    if (this.tickTimer) this.options.scheduler.cancel(this.tickTimer);
    this.tickTimer = undefined;
    this.tickDueMs = -1;
    for (const { connection } of this.connections.values()) connection.close();
    this.connections.clear();
    const instance = this.instanceNumber;
    this.options.scheduler.after(this.options.rebootDelayMs ?? 5000, () => {
      if (!this.stopped && instance === this.instanceNumber) this.boot();
    });
  }

  /** Copies bytes into IO_IN and calls `deliver(length)` per piece that fits. */
  private deliverBytes(bytes: Uint8Array, deliver: (length: number) => void): void {
    const input = this.exports.IO_IN.value as number;
    const capacity = this.exports.IO_IN_CAPACITY.value as number;
    for (let at = 0; at < bytes.length || at === 0; at += capacity) {
      const piece = bytes.subarray(at, at + capacity);
      this.memory.set(piece, input);
      deliver(piece.length);
      if (bytes.length === 0) break;
    }
  }

  /** The VM's services for one instance: what comes back after a reboot is dropped (`current`). */
  private services(instance: number): CoreServices {
    const o = this.options;
    const current = () => instance === this.instanceNumber && !this.stopped;
    return {
      ...this.deviceServices(),
      ...this.tcpServices(instance, current),
      httpGet: (url, wantBody) => this.httpGet(url, wantBody, current),
      dnsQuery: (type, name) => (type === DNS_TYPE_SRV ? this.dnsSrv(name, current) : this.dnsA(name, current)),
      ledSet: (index, rgb) => o.listener?.led?.(index, rgb),
      reboot: () => {
        this.rebootPending = true;
      },
      report: (kind, payload) => o.listener?.report?.(REPORT_KINDS[kind] ?? `report-${kind}`, payload),
    };
  }

  /** The UART, the clock, the generators, the MAC and the flash. */
  private deviceServices(): CoreServices {
    const o = this.options;
    const listener = o.listener;
    const uart = listener?.uart?.bind(listener);
    return {
      // Nobody reads the UART (a fleet): no service, so the import copies nothing and no line is built.
      uartWrite: uart && ((bytes) => {
        this.uartLine += Buffer.from(bytes).toString("latin1");
        let newline: number;
        while ((newline = this.uartLine.indexOf("\n")) >= 0) {
          uart(this.uartLine.slice(0, newline));
          this.uartLine = this.uartLine.slice(newline + 1);
        }
      }),
      timeMs: () => this.timeMs(),
      rand: () => this.random.rand(),
      srand: (seed) => this.random.srand(seed),
      randomBytes: (length) => this.secure.bytes(length),
      macAddress: () => this.mac,
      flashRead: (offset, length) => o.flash.read(offset, length),
      flashWrite: (offset, bytes) => {
        o.flash.write(offset, bytes);
        listener?.flashWritten?.(offset, bytes);
      },
    };
  }

  /** TCP: events reach the module through tcp_event, for the current instance's open handles only. */
  private tcpServices(instance: number, current: () => boolean): CoreServices {
    const o = this.options;
    const listener = o.listener;
    const live = (handle: number) => current() && this.connections.has(handle);
    return {
      tcpOpen: (address, port) => {
        const handle = this.nextHandle++;
        listener?.connecting?.(handle, address, port);
        const connection = o.network.open(address, port, {
          writable: () => {
            if (live(handle)) this.call(() => this.exports.tcp_event(handle, TCP_EVENT_WRITABLE, 0));
          },
          data: (bytes) => {
            if (!live(handle)) return;
            listener?.received?.(handle, bytes);
            this.deliverBytes(bytes, (length) => this.call(() => this.exports.tcp_event(handle, TCP_EVENT_DATA, length)));
          },
          closed: () => {
            if (!live(handle)) return;
            this.connections.delete(handle);
            listener?.closed?.(handle, "peer");
            this.call(() => this.exports.tcp_event(handle, TCP_EVENT_CLOSED, 0));
          },
        });
        this.connections.set(handle, { connection, instance });
        return handle;
      },
      tcpSend: (handle, bytes) => {
        const entry = this.connections.get(handle);
        if (!entry) return -1;
        const taken = entry.connection.send(bytes);
        if (taken > 0) listener?.sent?.(handle, bytes.subarray(0, taken));
        return taken;
      },
      tcpClose: (handle) => {
        const entry = this.connections.get(handle);
        if (!entry) return;
        this.connections.delete(handle);
        entry.connection.close();
        listener?.closed?.(handle, "rabbit");
      },
    };
  }

  private httpGet(url: string, wantBody: boolean, current: () => boolean): number {
    const request = this.nextRequest++;
    const listener = this.options.listener;
    listener?.http?.(url, wantBody);
    if (wantBody) this.requestsWaiting++;
    this.options.http.get(url, (answer) => {
      if (wantBody) this.requestsWaiting--;
      if (!wantBody || !current()) return;
      listener?.httpAnswered?.(url, answer.status, answer.error);
      this.deliverBytes(answer.body.subarray(0, this.exports.IO_IN_CAPACITY.value as number), (length) =>
        this.call(() => this.exports.http_done(request, answer.status, length)));
    }, wantBody);
    return request;
  }

  /** SRV records go to the module as (port, priority, weight: u16 LE each; target length: u8; target) each. */
  private dnsSrv(name: string, current: () => boolean): number {
    const request = this.nextRequest++;
    const listener = this.options.listener;
    listener?.dns?.("SRV", name);
    this.requestsWaiting++;
    this.options.resolver.srv(name, (records, error) => {
      this.requestsWaiting--;
      if (!current()) return;
      if (error) listener?.dnsFailed?.("SRV", name, error);
      const encoded = Buffer.concat(records.map((r) => {
        const target = Buffer.from(r.target, "latin1").subarray(0, 255);
        const head = Buffer.alloc(7);
        head.writeUInt16LE(r.port, 0);
        head.writeUInt16LE(r.priority, 2);
        head.writeUInt16LE(r.weight, 4);
        head.writeUInt8(target.length, 6);
        return Buffer.concat([head, target]);
      }));
      this.deliverBytes(encoded, (length) => this.call(() => this.exports.dns_done(request, records.length, length)));
    });
    return request;
  }

  private dnsA(name: string, current: () => boolean): number {
    const request = this.nextRequest++;
    const listener = this.options.listener;
    listener?.dns?.("A", name);
    this.requestsWaiting++;
    this.options.resolver.a(name, (address, error) => {
      this.requestsWaiting--;
      if (!current()) return;
      if (error) listener?.dnsFailed?.("A", name, error);
      const encoded = Buffer.from(address ?? "", "latin1");
      this.deliverBytes(encoded, (length) => this.call(() => this.exports.dns_done(request, address ? 1 : -1, length)));
    });
    return request;
  }

}
