// A simulation's plan, all drawn from its seed: which rabbit (profile, registration form), which lab (dialect), and
// which faults when. The same seed gives the same plan, and the same run (host/sim/world.ts).

import type { LabDialect } from "../lab/xmpp-server.js";
import type { Profile } from "../quirks.js";
import type { RegistrationForm } from "../rabbit.js";

/** Every fault the simulator knows; `--faults` takes a comma-separated subset (default: all of them). */
export const FAULT_KINDS = [
  "latency", //      each delivery late by a base latency plus jitter (in order: TCP)
  "split", //        server writes cut into reads at random bytes
  "partial", //      the rabbit's sends taken a few bytes at a time
  "drop", //         a connection goes silent both ways (no close)
  "reset", //        a connection closed at once, whatever was in flight
  "refuse", //       connects refused for a while
  "restart", //      the lab restarts: every connection closed; its accounts kept, or lost
  "http", //         locate.jsp and sendMailXMPP.jsp fail (500, 404, no answer) or answer slowly
  "dns", //          A lookups fail or find nothing for a while
  "duplicate", //    the platform pushes a packet twice, or two in the other order
  "clock", //        the rabbit's clock jumps ahead
  "power", //        the power is cut during a flash write, at any step of it
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultEvent {
  /** Virtual ms since the start. */
  at: number;
  kind: FaultKind;
  /** How long it lasts (refuse, dns, http, drop), how far (clock), which step (power), or a variant. */
  value: number;
}

export interface SimPlan {
  seed: number;
  profile: Profile;
  registration: RegistrationForm;
  dialect: LabDialect;
  /** A password already in flash, or none (the rabbit registers). */
  flashPassword: boolean;
  latencyMs: number;
  jitterMs: number;
  splitChance: number;
  partialChance: number;
  faults: FaultEvent[];
  /** Times the platform pushes a packet (ambient, sleep, wake) to the rabbit. */
  pushes: number[];
  /** When the last fault ends: the rabbit must be online within the recovery bound after it. */
  quietAt: number;
}

/** The faults happen within this window from the start. */
export const FAULT_WINDOW_MS = 120_000;
/**
 * After the last fault, the rabbit is online within this much virtual time: a reboot (5 s), locate.jsp and its
 * retries, the reconnect delay (up to 35 s), the lab's login deadline for a stranded connection (120 s), a
 * registration round, with room.
 */
export const RECOVERY_BOUND_MS = 300_000;

/** A small seeded generator (mulberry32): numbers in [0, 1), the same for the same seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The combinations that get online on a fault-free lab: what the simulator runs. */
const SETUPS: { profile: Profile; registration: RegistrationForm; dialect: LabDialect }[] = [
  { profile: "firmware", registration: "stock", dialect: "openjabnab" },
  { profile: "firmware", registration: "stock", dialect: "tolerant" },
  { profile: "firmware", registration: "seed", dialect: "tolerant" },
  { profile: "firmware", registration: "binary", dialect: "tolerant" },
  { profile: "standard", registration: "binary", dialect: "tolerant" },
  { profile: "standard", registration: "stock", dialect: "tolerant" },
];

/** The plan of seed `seed`, with faults of the given kinds only; `profile` narrows the setups. */
export function planFor(seed: number, kinds: readonly FaultKind[] = FAULT_KINDS, profile?: Profile): SimPlan {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const setups = SETUPS.filter((setup) => !profile || setup.profile === profile);
  const setup = pick(setups);
  const count = Math.floor(random() * 6);
  const faults: FaultEvent[] = [];
  // Latency, splits and partial writes are settings of the whole run; the others are events in it.
  const eventKinds = kinds.filter((k) => k !== "latency" && k !== "split" && k !== "partial");
  for (let i = 0; i < count && eventKinds.length > 0; i++) {
    const kind = pick(eventKinds);
    faults.push({ at: Math.floor(random() * FAULT_WINDOW_MS), kind, value: Math.floor(random() * 1_000_000) });
  }
  faults.sort((a, b) => a.at - b.at);
  const pushes = Array.from({ length: Math.floor(random() * 4) }, () => Math.floor(random() * FAULT_WINDOW_MS * 1.5)).sort((a, b) => a - b);
  const has = (kind: FaultKind) => kinds.includes(kind);
  const lasting = faults.map((fault) => fault.at + durationOf(fault));
  return {
    seed,
    ...setup,
    flashPassword: random() < 0.3,
    latencyMs: has("latency") ? Math.floor(random() * 200) : 0,
    jitterMs: has("latency") ? Math.floor(random() * 100) : 0,
    splitChance: has("split") ? random() * 0.6 : 0,
    // OpenJabNab reads one socket read as one message (a real rabbit's stanzas each fit one TCP segment): the rabbit's
    // sends are not cut toward it.
    partialChance: has("partial") && setup.dialect !== "openjabnab" ? random() * 0.6 : 0,
    faults,
    pushes,
    quietAt: Math.max(0, ...lasting),
  };
}

/** How long a fault lasts, in virtual ms (0 for an instant one). */
export function durationOf(fault: FaultEvent): number {
  switch (fault.kind) {
    case "refuse":
    case "dns":
    case "http":
      return 1_000 + (fault.value % 40_000);
    case "drop":
      return 0;
    default:
      return 0;
  }
}

export function describePlan(plan: SimPlan): string {
  const faults = plan.faults.map((f) => `${f.kind}@${(f.at / 1000).toFixed(1)}s(${f.value})`).join(" ") || "none";
  return `${plan.profile}/${plan.registration} against the ${plan.dialect} lab, ${plan.flashPassword ? "a stale password in flash" : "an empty flash"}; latency ${plan.latencyMs}+${plan.jitterMs} ms, splits ${plan.splitChance.toFixed(2)}, partial writes ${plan.partialChance.toFixed(2)}; faults: ${faults}; pushes at ${plan.pushes.map((t) => (t / 1000).toFixed(1)).join(", ") || "none"}`;
}
