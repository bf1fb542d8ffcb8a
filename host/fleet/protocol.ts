// The messages between the fleet's parent and its processes (workers, the lab), over Node's IPC channel.

import type { Variant } from "../core.js";
import type { Profile } from "../quirks.js";
import type { RegistrationForm, SaslMechanism } from "../rabbit.js";
import type { WorkerTotals } from "./report.js";

export interface WorkerConfig {
  index: number;
  first: number;
  count: number;
  /** 12 hex digits. */
  macBase: string;
  profile: Profile;
  registration?: RegistrationForm;
  sasl?: SaslMechanism;
  /** The module every rabbit runs. */
  build: Variant;
  /** The flash holds fleetPassword(MAC) (rabbits that registered long ago). */
  registered: boolean;
  /** The flash form of the platform URL ("host:port/vl"). */
  platform: string;
  rampPerSecond: number | null;
  /** The lab's XMPP ports: the first is the one locate.jsp names; rabbits are spread over all of them. */
  xmppPorts?: number[];
  flashDir?: string;
  memoryBytesMax: number;
}

/** A worker's rabbits: global indexes [first, first + count). */
export interface WorkerRange {
  first: number;
  count: number;
}

export interface LabCommand {
  type: "start";
  rabbits: number;
  workers: number;
  /** Offered first by the lab (the rabbits are told to use it). */
  sasl?: SaslMechanism;
  /** Accounts to create before the rabbits come: fleetPassword(MAC) for each rabbit of these ranges. */
  registered?: { macBase: string; ranges: WorkerRange[] };
}

export type WorkerCommand = { type: "start"; config: WorkerConfig } | { type: "stop" };

export interface WorkerProgress {
  type: "progress";
  started: number;
  online: number;
  everOnline: number;
  retrying: number;
  logins: number;
  /** Rabbits per status ("booting", "opening", "logging", "loggedin", "opened", "closed", "registration-error", "rebooting"). */
  statuses: Record<string, number>;
  cpuMs: number;
  rssBytes: number;
}

export type WorkerMessage =
  | { type: "ready" }
  | WorkerProgress
  | { type: "problem"; message: string }
  | { type: "fatal"; message: string }
  | { type: "totals"; totals: WorkerTotals };

export interface LabReady {
  type: "ready";
  platformUrl: string;
  xmppPorts: number[];
}

export interface LabStats {
  type: "stats";
  locateCalls: number;
  logins: number;
  registrations: number;
  refusals: number;
  connectionsMax: number;
  cpuMs: number;
}

export type LabMessage = LabReady | LabStats | { type: "fatal"; message: string };
