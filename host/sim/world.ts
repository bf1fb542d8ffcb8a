// One simulated world for one seed: the real module and the real host services (Rabbit, Flash on a real file, the
// lab's real XMPP and HTTP code), on virtual time, through the simulator's network, HTTP, DNS and power supply, with
// the plan's faults. Everything random comes from the seed: the same seed gives the same transcript.
import * as nodeFs from "node:fs";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { virtualLab, type VirtualLab } from "../lab/virtual-lab.js";
import { ambientPacket, modePacket } from "../lab/packets.js";
import type { FileIo } from "../files.js";
import { combineListeners, Rabbit, type RabbitListener } from "../rabbit.js";
import type { Resolver, SrvRecord } from "../vm/dns.js";
import { Flash } from "../vm/flash.js";
import type { HttpAnswer, HttpClient } from "../vm/http.js";
import { SecureRandom, VmRandom } from "../vm/random.js";
import { VirtualScheduler } from "../vm/scheduler.js";
import { SimNetwork } from "./network.js";
import { durationOf, seededRandom, type FaultEvent, type SimPlan } from "./plan.js";

/** Bugs the simulator's own tests plant on purpose: it must report the right invariant. */
export const PLANTED_BUGS = ["none", "no-reconnect", "flash-in-place"] as const;
export type PlantedBug = (typeof PLANTED_BUGS)[number];

export interface WorldOptions {
  plan: SimPlan;
  /** A directory of this run's own, for the flash file. */
  directory: string;
  plant?: PlantedBug;
  /** The debug build (assertions) instead of the release one. */
  debug?: boolean;
  /** Everything the rabbit and the world do, as it happens. */
  listener: RabbitListener;
  /** A power cut happened during a flash write: the file's content after it, the sector before and after the write. */
  onPowerCut(onDisk: Uint8Array | string, before: Uint8Array, after: Uint8Array, step: number): void;
  log(line: string): void;
}

/**
 * The power, for the flash: a cut at step `armedStep` of the next flash write (0 open, 1 write, 2 fsync, 3 close,
 * 4 rename, 5 just after it all). The steps are the real writer's (host/files.ts), through its FileIo.
 */
class PowerSupply {
  /** The step of the next flash write at which the power goes, or -1. */
  armedStep = -1;
  /** Set by the file layer when it cut: the world then powers the rabbit off and on. */
  cut = false;

  constructor(private readonly plant: PlantedBug) {}

  /** The file calls of one flash write, each one a place the power may go. */
  io(): Partial<FileIo> {
    const at = (step: number) => {
      if (this.armedStep === step) {
        this.armedStep = -1;
        this.cut = true;
        throw Object.assign(new Error("power cut"), { code: "EPOWER" });
      }
    };
    return {
      open: (path, flags, mode) => {
        at(0);
        // The planted bug: the sector is written in place, not to a temporary file renamed over it.
        const target = this.plant === "flash-in-place" ? path.replace(/\.tmp-[^/]*$/, "") : path;
        const { openSync, constants } = nodeFs;
        return openSync(target, this.plant === "flash-in-place" ? constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC : flags, mode);
      },
      write: (fd, bytes, offset) => {
        at(1);
        return nodeFs.writeSync(fd, bytes, offset);
      },
      fsync: (fd) => {
        at(2);
        nodeFs.fsyncSync(fd);
      },
      close: (fd) => {
        at(3);
        nodeFs.closeSync(fd);
      },
      rename: (from, to) => {
        at(4);
        if (this.plant !== "flash-in-place") nodeFs.renameSync(from, to);
        if (this.armedStep === 5) {
          // The power goes just after the write: the new sector is on disk.
          this.armedStep = -1;
          this.cut = true;
        }
      },
    };
  }
}

/** The world's HTTP: the lab's answers, late, or failing while an HTTP fault lasts. */
class SimHttp implements HttpClient {
  faultUntil = -1;
  faultVariant = 0;

  constructor(private readonly scheduler: VirtualScheduler, private readonly lab: VirtualLab, private readonly random: () => number) {}

  get(url: string, done: (answer: HttpAnswer) => void): void {
    const now = this.scheduler.now();
    const failing = now < this.faultUntil;
    let delay = 5 + Math.floor(this.random() * 50);
    let answer: HttpAnswer | undefined;
    if (failing && this.faultVariant === 0) answer = { status: 500, body: Buffer.from("oops"), error: "HTTP 500" };
    else if (failing && this.faultVariant === 1) answer = { status: 404, body: new Uint8Array(), error: "HTTP 404" };
    else if (failing && this.faultVariant === 2) {
      delay = 9_000;
      answer = { status: -1, body: new Uint8Array(), error: "timeout" };
    } else if (failing) delay = 2_000 + Math.floor(this.random() * 12_000); // slow, then the lab's answer
    this.scheduler.after(delay, () => done(answer ?? this.lab.answer(url) ?? { status: -1, body: new Uint8Array(), error: "no answer" }));
  }
}

/** The world's DNS: the lab's address, or nothing while a DNS fault lasts; no SRV records. */
class SimResolver implements Resolver {
  faultUntil = -1;

  constructor(private readonly scheduler: VirtualScheduler, private readonly lab: VirtualLab) {}

  srv(_name: string, done: (records: SrvRecord[], error?: string) => void): void {
    this.scheduler.after(1, () => done([], "SRV: no records"));
  }

  a(name: string, done: (address: string | undefined, error?: string) => void): void {
    const failing = this.scheduler.now() < this.faultUntil || name !== this.lab.domain;
    this.scheduler.after(failing ? 200 : 1, () => done(failing ? undefined : this.lab.address, failing ? "A: no such name" : undefined));
  }
}

export class SimWorld {
  readonly scheduler = new VirtualScheduler();
  readonly lab: VirtualLab;
  readonly network: SimNetwork;
  readonly mac: string;
  rabbit!: Rabbit;
  flash!: Flash;
  private readonly http: SimHttp;
  private readonly resolver: SimResolver;
  private readonly power: PowerSupply;
  private readonly random: () => number;
  private readonly flashPath: string;
  private readonly vmRandom = new VmRandom();
  private powerCycles = 0;
  /** Between a power cut and power on: the rabbit is off, it waits for nothing. */
  powerOff = false;

  constructor(private readonly options: WorldOptions) {
    const plan = options.plan;
    this.random = seededRandom(plan.seed ^ 0x5eed5eed);
    this.mac = `0019db${(plan.seed % 0x1000000).toString(16).padStart(6, "0")}`;
    // The firmware needs the server's header in one read (header-one-chunk): real servers write it in one segment.
    this.network = new SimNetwork(this.scheduler, this.random, { ...plan, headerWhole: plan.profile === "firmware" });
    this.lab = virtualLab({ network: this.network, scheduler: this.scheduler, dialect: plan.dialect, random: seededRandom(plan.seed ^ 0x1ab1ab) });
    this.http = new SimHttp(this.scheduler, this.lab, this.random);
    this.resolver = new SimResolver(this.scheduler, this.lab);
    this.power = new PowerSupply(options.plant ?? "none");
    mkdirSync(options.directory, { recursive: true, mode: 0o700 });
    this.flashPath = join(options.directory, `${this.mac}.flash`);
  }

  /** Powers the rabbit on (with a flash file as it is on disk, or a fresh one), then schedules the plan. */
  start(): void {
    const flash = new Flash(this.flashPath, undefined, { io: this.power.io(), onProblem: (message) => this.options.log(`flash: ${message}`) });
    flash.setServerUrl(this.lab.platformUrl);
    if (this.options.plan.flashPassword) flash.setPassword("0123456789ab");
    this.powerOn();
    for (const fault of this.options.plan.faults) this.scheduler.after(fault.at, () => this.inject(fault));
    this.schedulePushes();
  }

  private powerOn(): void {
    this.flash = new Flash(this.flashPath, undefined, { io: this.power.io(), onProblem: (message) => this.options.log(`flash: ${message}`) });
    const plan = this.options.plan;
    const before = { sector: this.flash.bytes.slice() };
    const watchFlash: RabbitListener = {
      flashWritten: () => {
        if (!this.power.cut) {
          before.sector = this.flash.bytes.slice();
          return;
        }
        this.power.cut = false;
        const after = this.flash.bytes.slice();
        const previous = before.sector;
        this.scheduler.after(0, () => this.powerCut(previous, after));
      },
    };
    this.rabbit = new Rabbit({
      mac: this.mac,
      profile: plan.profile,
      registration: plan.registration,
      flash: this.flash,
      scheduler: this.scheduler,
      network: this.network,
      http: this.http,
      resolver: this.resolver,
      random: this.vmRandom,
      secure: new SecureRandom(`sim-${plan.seed}-${this.powerCycles}`),
      variant: this.options.debug ? "debug" : "release",
      ticks: "due",
      plantedBug: this.options.plant === "no-reconnect" ? 1 : 0,
      listener: combineListeners(watchFlash, this.options.listener),
    });
    this.rabbit.start();
  }

  /** The power went during a flash write: the rabbit stops dead; what is on disk is checked; a second later it is on again. */
  private powerCut(before: Uint8Array, after: Uint8Array): void {
    this.rabbit.stop();
    this.powerOff = true;
    this.powerCycles++;
    let onDisk: Uint8Array | string;
    try {
      const problems: string[] = [];
      const reread = new Flash(this.flashPath, undefined, { onProblem: (message) => problems.push(message) });
      onDisk = problems.length > 0 ? problems.join("; ") : reread.bytes;
    } catch (error) {
      onDisk = (error as Error).message;
    }
    this.options.onPowerCut(onDisk, before, after, -1);
    this.options.log(`power cut during a flash write; power on again in 1 s`);
    this.scheduler.after(1000, () => {
      this.powerOff = false;
      this.powerOn();
    });
  }

  private inject(fault: FaultEvent): void {
    const now = this.scheduler.now();
    this.options.log(`fault ${fault.kind} (${fault.value})`);
    switch (fault.kind) {
      case "drop":
        return this.network.drop();
      case "reset":
        return this.network.reset();
      case "refuse":
        this.network.refuseUntil = now + durationOf(fault);
        return;
      case "restart":
        return this.restartLab(fault.value % 2 === 1);
      case "http":
        this.http.faultUntil = now + durationOf(fault);
        this.http.faultVariant = fault.value % 4;
        return;
      case "dns":
        this.resolver.faultUntil = now + durationOf(fault);
        return;
      case "duplicate":
        return this.push(fault.value % 3, fault.value % 2 === 0 ? 2 : 1, true);
      case "clock":
        return this.rabbit.jumpClock(1_000 + (fault.value % 60_000));
      case "power":
        this.power.armedStep = fault.value % 6;
        return;
      default:
        return;
    }
  }

  /** The lab restarts: every connection closed; its accounts kept, or lost. */
  private restartLab(accountsLost: boolean): void {
    this.network.resetAll();
    if (accountsLost) for (const mac of this.lab.accounts.list()) this.lab.accounts.forget(mac);
  }

  private schedulePushes(): void {
    this.options.plan.pushes.forEach((at, i) => this.scheduler.after(at, () => this.push(i % 3, 1, false)));
  }

  /** The platform pushes packets: an ambient, a sleep or a wake; `times` copies; `swapped`: a wake then a sleep. */
  private push(kind: number, times: number, swapped: boolean): void {
    const packets = kind === 0 ? [ambientPacket({ left: this.random() * 17 | 0, right: this.random() * 17 | 0 })] : [modePacket(kind === 1)];
    if (swapped && kind !== 0) packets.unshift(modePacket(kind !== 1));
    for (let i = 0; i < times; i++) for (const packet of packets) this.lab.xmpp.sendPacket(this.mac, packet);
  }

  /** The rabbit's module memory, in bytes (never grows). */
  memoryBytes(): number {
    return (this.rabbit as unknown as { exports?: { memory: WebAssembly.Memory } }).exports?.memory.buffer.byteLength ?? 0;
  }
}
