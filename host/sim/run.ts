// Runs simulated worlds (host/sim/world.ts) seed by seed and checks the invariants after every step of virtual time.
// A failing seed says which invariant broke, when, the command that replays it, its fault schedule and the rabbit's
// last stanzas and state changes; the same seed always gives the same run (same transcript hash).

import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SaxesParser } from "saxes";
import { hexXor } from "../lab/accounts.js";
import { maskSecrets } from "../observe.js";
import type { Profile } from "../quirks.js";
import type { RabbitListener } from "../rabbit.js";
import { describePlan, FAULT_KINDS, planFor, RECOVERY_BOUND_MS, type FaultKind, type SimPlan } from "./plan.js";
import { SimWorld, type PlantedBug } from "./world.js";

/** What must hold after every step, by name. */
export const INVARIANTS = [
  "no-trap", //              no WebAssembly trap, no uncaught exception
  "no-silent-stall", //      offline with no tick due, no connection open, no HTTP or DNS request out
  "online-after-faults", //  online (the rabbit and the lab agree) within RECOVERY_BOUND_MS of the last fault
  "flash-old-or-new", //     after a power cut during a flash write, the file holds the old sector or the new one
  "no-secret-in-logs", //    no password (or its registered form) in any line the host prints
  "well-formed-stanzas", //  every byte the rabbit sends is well-formed XML for its stream
  "accounts-consistent", //  online, the lab stores the password the rabbit has in flash
  "memory-fixed", //         the module's memory never grows
] as const;
export type Invariant = (typeof INVARIANTS)[number];

/** The module's memory: 4 pages. */
const MODULE_MEMORY_BYTES = 4 * 65536;
/** The last lines of a failing run shown with it. */
const TAIL_LINES = 40;

export interface SimOptions {
  kinds?: readonly FaultKind[];
  profile?: Profile;
  plant?: PlantedBug;
  debug?: boolean;
  /** Keep every line of the run (--trace). */
  trace?: boolean;
}

export interface SimFailure {
  invariant: Invariant;
  atMs: number;
  message: string;
}

export interface SimResult {
  seed: number;
  ok: boolean;
  failure?: SimFailure;
  /** SHA-256 of the transcript: the same seed, the same hash. */
  hash: string;
  steps: number;
  virtualMs: number;
  plan: SimPlan;
  /** The last lines (or all, with trace). */
  lines: string[];
  /** Not online, for a reason outside the rabbit: what the real platform does too. */
  excused?: string;
}

/** The command that replays a seed. */
export function replayCommand(seed: number, options: SimOptions): string {
  const parts = ["nabaztag-vm sim", `--seed ${seed}`, "--trace"];
  if (options.kinds && options.kinds.length !== FAULT_KINDS.length) parts.push(`--faults ${options.kinds.join(",")}`);
  if (options.profile) parts.push(`--profile ${options.profile}`);
  if (options.plant && options.plant !== "none") parts.push(`--plant ${options.plant}`);
  if (options.debug) parts.push("--debug");
  return parts.join(" ");
}

/** What the run watches: online or not, signs of life, the rabbit's XML per connection, the lines printed. */
class Watch {
  online = false;
  readonly lines: string[] = [];
  readonly hash = createHash("sha256");
  failure: SimFailure | undefined;
  private readonly parsers = new Map<number, SaxesParser>();
  private readonly held = new Map<number, string>();

  constructor(private readonly world: () => SimWorld, private readonly keepAll: boolean) {}

  fail(invariant: Invariant, message: string): void {
    if (!this.failure) this.failure = { invariant, atMs: this.world().scheduler.now(), message };
  }

  line(text: string): void {
    const stamped = `${String(this.world().scheduler.now()).padStart(8)} ${text}`;
    this.hash.update(stamped + "\n");
    this.lines.push(stamped);
    if (!this.keepAll && this.lines.length > TAIL_LINES * 2) this.lines.splice(0, this.lines.length - TAIL_LINES);
    this.checkSecrets(text);
  }

  /** The host prints this line (masked as `observe` masks it): no password may be left in it. */
  private checkSecrets(text: string): void {
    const world = this.world();
    const password = world.flash?.password();
    const account = world.lab.accounts.get(world.mac);
    const secrets = [password, password && hexXor(password, world.mac), account?.password, account?.registered].filter((s): s is string => !!s && s.length >= 4);
    const printed = maskSecrets(text, secrets);
    for (const secret of secrets) if (printed.includes(secret)) this.fail("no-secret-in-logs", `a printed line holds a password: ${printed.slice(0, 120)}`);
  }

  /**
   * The rabbit's outgoing bytes, per connection, through a strict XML parser; "<?xml" starts a new stream (the restart
   * after SASL), wherever a write cut it.
   */
  sent(handle: number, text: string): void {
    const pending = (this.held.get(handle) ?? "") + text;
    const header = pending.indexOf("<?xml");
    if (header >= 0) {
      if (header > 0) this.parser(handle).write(pending.slice(0, header));
      this.parsers.delete(handle);
      this.held.delete(handle);
      this.parser(handle).write(pending.slice(header));
      return;
    }
    // Hold back an end that may be the beginning of "<?xml".
    let keep = Math.min(4, pending.length);
    while (keep > 0 && !"<?xml".startsWith(pending.slice(pending.length - keep))) keep--;
    this.held.set(handle, pending.slice(pending.length - keep));
    if (pending.length > keep) this.parser(handle).write(pending.slice(0, pending.length - keep));
  }

  private parser(handle: number): SaxesParser {
    let parser = this.parsers.get(handle);
    if (!parser) {
      parser = new SaxesParser({ xmlns: false, position: false });
      parser.on("error", (error) => this.fail("well-formed-stanzas", `connection ${handle}: ${error.message}`));
      this.parsers.set(handle, parser);
    }
    return parser;
  }

  listener(): RabbitListener {
    const latin1 = (bytes: Uint8Array) => Buffer.from(bytes).toString("latin1");
    return {
      uart: (text) => this.line(`[vm] ${text}`),
      report: (kind, payload) => this.report(kind, latin1(payload)),
      connecting: (handle, address, port) => {
        this.line(`connect #${handle} ${address}:${port}`);
      },
      sent: (handle, bytes) => {
        this.line(`out #${handle} ${JSON.stringify(latin1(bytes))}`);
        this.sent(handle, latin1(bytes));
      },
      received: (handle, bytes) => this.line(`in #${handle} ${JSON.stringify(latin1(bytes))}`),
      closed: (handle, by) => this.line(`closed #${handle} by ${by}`),
      http: (url) => {
        this.line(`http ${url}`);
      },
      dns: (type, name) => {
        this.line(`dns ${type} ${name}`);
      },
      booted: (count) => {
        this.online = false;
        this.line(`boot ${count}`);
      },
    };
  }

  private report(kind: string, text: string): void {
    this.line(`${kind} ${JSON.stringify(text)}`);
    if (kind === "online") {
      this.online = true;
      this.checkAccounts();
    } else if (kind === "status" && text !== "opened") this.online = false;
    else if (kind === "reboot") this.online = false;
  }

  private checkAccounts(): void {
    const world = this.world();
    const password = world.flash.password();
    const candidates = world.lab.accounts.candidates(world.mac);
    if (!password || !candidates.includes(password)) {
      this.fail("accounts-consistent", `online with ${password ? "a password" : "no password"} in flash that the lab does not store (${candidates.length} candidates)`);
    }
  }
}

/** Runs one seed to its end: online after the last fault and the last push, or a broken invariant. */
export function runSeed(seed: number, options: SimOptions = {}): SimResult {
  const plan = planFor(seed, options.kinds ?? FAULT_KINDS, options.profile);
  const directory = join(simDirectory(), `seed-${seed}-${process.pid}`);
  let world!: SimWorld;
  const watch = new Watch(() => world, options.trace ?? false);
  world = new SimWorld({
    plan,
    directory,
    plant: options.plant,
    debug: options.debug,
    listener: watch.listener(),
    onPowerCut: (onDisk, before, after) => {
      const same = (a: Uint8Array) => typeof onDisk !== "string" && Buffer.compare(Buffer.from(onDisk), Buffer.from(a)) === 0;
      if (!same(before) && !same(after)) watch.fail("flash-old-or-new", typeof onDisk === "string" ? `after a power cut: ${onDisk}` : "after a power cut the flash holds neither the old sector nor the new one");
    },
    log: (line) => watch.line(`world: ${line}`),
  });
  let steps = 0;
  try {
    steps = drive(world, plan, watch);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  const hash = watch.hash.digest("hex");
  const excused = excuse(world, plan, watch.failure);
  const failure = excused ? undefined : watch.failure;
  return { seed, ok: !failure, failure, excused, hash, steps, virtualMs: world.scheduler.now(), plan, lines: watch.lines.slice(options.trace ? 0 : -TAIL_LINES) };
}

/** The loop: one scheduler step at a time, the invariants after each. */
function drive(world: SimWorld, plan: SimPlan, watch: Watch): number {
  const end = plan.quietAt + RECOVERY_BOUND_MS;
  const settled = Math.max(plan.quietAt, ...plan.pushes) + 10_000;
  let steps = 0;
  try {
    world.start();
  } catch (error) {
    watch.fail("no-trap", `at start: ${(error as Error).stack ?? error}`);
    return 0;
  }
  for (;;) {
    try {
      if (!world.scheduler.step()) break;
    } catch (error) {
      watch.fail("no-trap", (error as Error).stack ?? String(error));
    }
    steps++;
    const now = world.scheduler.now();
    const memory = world.memoryBytes();
    if (memory !== 0 && memory !== MODULE_MEMORY_BYTES) watch.fail("memory-fixed", `the module's memory is ${memory} bytes`);
    const waiting = world.rabbit.waitingFor();
    if (!watch.online && !world.powerOff && !waiting.tick && waiting.connections === 0 && waiting.requests === 0 && !waiting.rebooting) {
      watch.fail("no-silent-stall", `offline with no tick due, no connection, no request out (status ${world.rabbit.status}, state ${world.rabbit.state})`);
    }
    if (watch.failure) break;
    const labSees = world.lab.xmpp.online().some((rabbit) => rabbit.mac === world.mac);
    if (now >= settled && watch.online && labSees) break;
    if (now > end) {
      watch.fail("online-after-faults", `not online ${RECOVERY_BOUND_MS / 1000} s after the last fault (status ${world.rabbit.status}, state ${world.rabbit.state})`);
      break;
    }
  }
  world.rabbit.stop();
  return steps;
}

/**
 * A rabbit that is not online because of what the platform does, not the rabbit: OpenJabNab keeps the password of a
 * rabbit that lost it (a power cut between the registration's result and the flash write) and closes the stream of
 * every registration after that, for ever (plugin_auth.cpp), until someone clears it on the server.
 */
function excuse(world: SimWorld, plan: SimPlan, failure: SimFailure | undefined): string | undefined {
  if (failure?.invariant !== "online-after-faults" || plan.dialect !== "openjabnab") return undefined;
  if (world.flash.password() || !world.lab.accounts.get(world.mac)) return undefined;
  return "OpenJabNab keeps the password this rabbit lost in a power cut and refuses its registrations (as the real platform does)";
}

/** Where the runs' flash files go: memory-backed when the machine has it. */
function simDirectory(): string {
  return process.platform === "linux" ? "/dev/shm/nabaztag-sim" : join(tmpdir(), "nabaztag-sim");
}

/** A failing seed, for people: the invariant, the replay command, the plan, the last lines. */
export function describeFailure(result: SimResult, options: SimOptions): string[] {
  const failure = result.failure!;
  return [
    `seed ${result.seed}: ${failure.invariant} broke at ${(failure.atMs / 1000).toFixed(3)} s: ${failure.message}`,
    `  replay: ${replayCommand(result.seed, options)}`,
    `  plan: ${describePlan(result.plan)}`,
    "  last lines:",
    ...result.lines.slice(-TAIL_LINES).map((line) => `    ${line.length > 240 ? `${line.slice(0, 240)}...` : line}`),
  ];
}
