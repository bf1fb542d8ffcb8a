// PLAIN's server side (RFC 4616): one message, [authzid] NUL authcid NUL passwd, in UTF-8, checked against each of
// the account's passwords (accounts.ts). The password is in the clear: the lab offers PLAIN only when told to
// (`mechanisms`), for clients that have nothing else, on loopback.

import { createHash, timingSafeEqual } from "node:crypto";
import { LAB_PLAIN_FIELD_BYTES_MAX, LAB_SASL_USERNAME_CHARS_MAX } from "./limits.js";
import { decodeSaslBase64, saslFailure, type SaslContext, type SaslExchange, type SaslStep } from "./sasl-common.js";

/** Compares without telling, by the time taken, how much of the password matched. */
function samePassword(a: string, b: string): boolean {
  const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** The three fields of a PLAIN message, or why it is not one. */
export function plainFields(bytes: Buffer): { authzid: string; authcid: string; password: string } | string {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i < bytes.length && bytes[i] !== 0) continue;
    parts.push(bytes.subarray(start, i));
    start = i + 1;
  }
  if (parts.length !== 3) return `${parts.length - 1} NUL separators, not 2`;
  const [authzid, authcid, password] = parts as [Buffer, Buffer, Buffer];
  if (authzid.length > LAB_PLAIN_FIELD_BYTES_MAX || password.length > LAB_PLAIN_FIELD_BYTES_MAX) return `a field over ${LAB_PLAIN_FIELD_BYTES_MAX} bytes`;
  const texts = [authzid, authcid, password].map((part) => part.toString("utf8"));
  if (texts.some((text, i) => !Buffer.from(text, "utf8").equals([authzid, authcid, password][i]!) || /[\x00-\x1f\x7f]/.test(text))) return "not UTF-8 text";
  const [authzidText, authcidText, passwordText] = texts as [string, string, string];
  if (authcidText.length === 0 || authcidText.length > LAB_SASL_USERNAME_CHARS_MAX) return `an authcid of ${authcidText.length} characters (1..${LAB_SASL_USERNAME_CHARS_MAX})`;
  if (passwordText.length === 0) return "an empty password";
  return { authzid: authzidText, authcid: authcidText, password: passwordText };
}

export class PlainServer implements SaslExchange {
  /** An empty challenge went out for a missing initial response. */
  private askedFirst = false;
  private done = false;

  constructor(private readonly context: SaslContext) {}

  step(text: string): SaslStep {
    if (this.done) return saslFailure("malformed-request", "a message after the exchange");
    // No initial response in <auth>: an empty challenge asks for it (RFC 6120 §6.4.2).
    if (text.trim() === "" && !this.askedFirst) {
      this.askedFirst = true;
      return { kind: "challenge", data: Buffer.alloc(0) };
    }
    this.done = true;
    const bytes = decodeSaslBase64(text);
    if (!Buffer.isBuffer(bytes)) return bytes;
    const fields = plainFields(bytes);
    if (typeof fields === "string") return saslFailure("malformed-request", fields);
    const { authzid, authcid, password } = fields;
    const { accounts, domain } = this.context;
    // An authorization identity, if any, must be the user itself (the lab acts for no one else).
    if (authzid !== "" && authzid !== authcid && authzid !== `${authcid}@${domain}`) return saslFailure("invalid-authzid", "an authorization identity other than the user", authcid);
    // Every candidate compared, whichever matches: the time does not say which.
    const match = accounts.candidates(authcid).filter((candidate) => samePassword(candidate, password))[0];
    if (match !== undefined) return { kind: "success", mac: authcid, password: match };
    return saslFailure("not-authorized", accounts.get(authcid) ? "wrong password" : "no such account", authcid);
  }
}
