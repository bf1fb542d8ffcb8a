// What the tolerant dialect's SASL mechanisms share (sasl.ts has the table): the steps an exchange answers, what it
// needs of the lab, and the checked decoding of a client's message. Every input is hostile: a bad one is a failure
// step, never a throw.

import type { Accounts } from "./accounts.js";
import { LAB_SASL_BASE64_CHARS_MAX, LAB_SASL_MESSAGE_BYTES_MAX } from "./limits.js";
import type { ScramStore } from "./scram-store.js";

/** RFC 6120 §6.5's conditions the lab answers with. */
export type SaslCondition = "not-authorized" | "malformed-request" | "incorrect-encoding" | "invalid-authzid";

/** What an exchange answers to one client message. `mac`: the rabbit the message named, once it names one. */
export type SaslStep =
  /** Data for a <challenge>. `verified`: the client's credentials are proved (DIGEST-MD5's rspauth round). */
  | { kind: "challenge"; data: Buffer; mac?: string; verified?: boolean }
  /** Logged in; `data` for the <success> (additional data), `password` the account's password that matched. */
  | { kind: "success"; data?: Buffer; mac: string; password: string }
  | { kind: "failure"; condition: SaslCondition; reason: string; mac?: string };

/** One mechanism's server side for one exchange. */
export interface SaslExchange {
  /** The client's next message: the initial response (from <auth>), then each <response>'s, base64 as received. */
  step(text: string): SaslStep;
}

/** What the mechanisms need of the lab. */
export interface SaslContext {
  domain: string;
  accounts: Accounts;
  /** The lab's randomness as a number in [0, 1) (DIGEST-MD5's decimal nonce: seeded in simulations). */
  random(): number;
  /** Random bytes (crypto by default; seeded in simulations). */
  randomBytes(length: number): Buffer;
  /** SCRAM's per-account salts and keys, kept for the server's life. */
  scram: ScramStore;
}

/** A failure step. */
export function saslFailure(condition: SaslCondition, reason: string, mac?: string): SaslStep {
  return mac === undefined ? { kind: "failure", condition, reason } : { kind: "failure", condition, reason, mac };
}

/**
 * A SASL message's base64 (RFC 6120 §6.4.2: "=" is an empty message), checked: bounded, only the base64 alphabet
 * (whitespace ignored), padding restored where a rabbit drops it. A failure step when it is not that.
 */
export function decodeSaslBase64(text: string): Buffer | SaslStep {
  if (text.length > LAB_SASL_BASE64_CHARS_MAX) return saslFailure("malformed-request", `a message over ${LAB_SASL_BASE64_CHARS_MAX} base64 characters`);
  const compact = text.replace(/[ \t\r\n]+/g, "");
  if (compact === "=") return Buffer.alloc(0);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.replace(/=+$/, "").length % 4 === 1) return saslFailure("incorrect-encoding", "not base64");
  const bytes = Buffer.from(compact.replace(/=+$/, ""), "base64");
  if (bytes.length > LAB_SASL_MESSAGE_BYTES_MAX) return saslFailure("malformed-request", `a message over ${LAB_SASL_MESSAGE_BYTES_MAX} bytes`);
  return bytes;
}

/** UTF-8 text of a message, or undefined when the bytes are not UTF-8 (or hold a NUL or another control character). */
export function saslText(bytes: Buffer): string | undefined {
  const text = bytes.toString("utf8");
  if (!Buffer.from(text, "utf8").equals(bytes) || /[\x00-\x1f\x7f]/.test(text)) return undefined;
  return text;
}
