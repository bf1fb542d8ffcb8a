// The tolerant dialect's SASL (RFC 6120 §6, RFC 4422): which mechanisms it offers, in one table, and what every
// mechanism's server side looks like to the connection (xmpp-server.ts), which only moves its messages: each
// mechanism is an exchange fed the client's messages one by one (the initial response first) that answers a
// challenge, a success or a failure, and never throws. sasl-digest.ts (DIGEST-MD5, the rabbit's), sasl-scram.ts
// (SCRAM-SHA-1, RFC 5802) and sasl-plain.ts (PLAIN, RFC 4616) are the mechanisms. The openjabnab dialect has its own
// machine (openjabnab.ts) and does not use this.

import type { SaslContext, SaslExchange } from "./sasl-common.js";
import { DigestServer } from "./sasl-digest.js";
import { PlainServer } from "./sasl-plain.js";
import { ScramServer } from "./sasl-scram.js";

/** The mechanisms the tolerant dialect can offer (`LabOptions.mechanisms`, `lab --mechanisms`). */
export const LAB_SASL_MECHANISMS = ["SCRAM-SHA-1", "DIGEST-MD5", "PLAIN"] as const;
export type LabSaslMechanism = (typeof LAB_SASL_MECHANISMS)[number];
/** What the lab offers unless told otherwise: the firmware's one mechanism. */
export const LAB_SASL_DEFAULT: readonly LabSaslMechanism[] = ["DIGEST-MD5"];

/** The table: a mechanism's name to its exchange. */
const MECHANISMS: Record<LabSaslMechanism, (context: SaslContext) => SaslExchange> = {
  "SCRAM-SHA-1": (context) => new ScramServer(context),
  "DIGEST-MD5": (context) => new DigestServer(context),
  PLAIN: (context) => new PlainServer(context),
};

/** A new exchange of `mechanism`, or undefined when the lab does not offer it. */
export function startExchange(mechanism: string, offered: readonly LabSaslMechanism[], context: SaslContext): SaslExchange | undefined {
  const name = offered.find((candidate) => candidate === mechanism);
  return name ? MECHANISMS[name](context) : undefined;
}

/** Why `list` cannot be the lab's mechanisms (empty, unknown or repeated names), or undefined. */
export function mechanismsProblem(list: readonly string[]): string | undefined {
  if (list.length === 0) return "no mechanism";
  const unknown = list.find((name) => !(LAB_SASL_MECHANISMS as readonly string[]).includes(name));
  if (unknown !== undefined) return `${JSON.stringify(unknown.slice(0, 20))} is not one of ${LAB_SASL_MECHANISMS.join(", ")}`;
  if (new Set(list).size !== list.length) return "a mechanism named twice";
  return undefined;
}
