// The server's side of DIGEST-MD5 (RFC 2831 §2.1.2.1), one copy for the lab's dialects and the tests: the response a
// client must send and the rspauth a server answers, the directives of a response, base64 as rabbits send it, and
// the tolerant dialect's exchange (DigestServer, one of sasl.ts's mechanisms).
// Written from the RFC on node:crypto, independently of the rabbit's own code (the tests check the rabbit with it).

import { createHash } from "node:crypto";
import { LAB_SASL_BASE64_CHARS_MAX } from "./limits.js";
import { saslFailure, type SaslContext, type SaslExchange, type SaslStep } from "./sasl-common.js";

export function md5(data: Buffer | string): Buffer {
  return createHash("md5").update(typeof data === "string" ? Buffer.from(data, "latin1") : data).digest();
}

export interface DigestInputs {
  username: string;
  /** Empty when the challenge had none (OpenJabNab's: "user::password"). */
  realm: string;
  password: string;
  nonce: string;
  /** As received, NUL included if the rabbit sent one. */
  cnonce: string;
  digestUri: string;
  qop?: string;
  /** The nonce count, "00000001" unless given. */
  nc?: string;
}

/**
 * HEX(MD5(HEX(MD5(A1)) ":" nonce ":" nc ":" cnonce ":" qop ":" HEX(MD5(A2)))), A1 = MD5(user:realm:password) ":"
 * nonce ":" cnonce, A2 = prefix + digest-uri: "AUTHENTICATE:" for the client's response, ":" for rspauth.
 */
export function digestResponse(inputs: DigestInputs, a2Prefix: "AUTHENTICATE:" | ":"): string {
  const x = md5(`${inputs.username}:${inputs.realm}:${inputs.password}`);
  const ha1 = md5(Buffer.concat([x, Buffer.from(`:${inputs.nonce}:${inputs.cnonce}`, "latin1")])).toString("hex");
  const ha2 = md5(`${a2Prefix}${inputs.digestUri}`).toString("hex");
  return md5(`${ha1}:${inputs.nonce}:${inputs.nc ?? "00000001"}:${inputs.cnonce}:${inputs.qop ?? "auth"}:${ha2}`).toString("hex");
}

/** The directives of a response: key=value or key="value" (no escapes: rabbits send none; a NUL may be in a value). */
export function digestDirectives(plaintext: string): Map<string, string> {
  const out = new Map<string, string>();
  const pattern = /([A-Za-z-]+)\s*=\s*(?:"([^"]*)"|([^,]*))/g;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(plaintext))) out.set(match[1]!, match[2] ?? match[3] ?? "");
  return out;
}

/** Base64 as a rabbit sends it: the firmware drops one '='; the padding is restored before decoding. */
export function decodeRabbitBase64(text: string): string {
  const trimmed = text.replace(/\s+/g, "");
  return Buffer.from(trimmed + "=".repeat((4 - (trimmed.length % 4)) % 4), "base64").toString("latin1");
}

/**
 * The tolerant dialect's DIGEST-MD5 exchange (platform.md §2.4): a challenge with a 16-digit nonce, the response
 * checked against each of the account's passwords (the NUL cnonce and the short base64 of a firmware rabbit taken as
 * they come), the rspauth round, then success with no data. The bytes are the ones the lab always sent rabbits.
 */
export class DigestServer implements SaslExchange {
  private nonce = "";
  private rspauth = "";
  private mac = "";
  private password = "";

  constructor(private readonly context: SaslContext) {}

  step(text: string): SaslStep {
    if (!this.nonce) return this.challenge();
    const trimmed = text.trim();
    if (trimmed.length > LAB_SASL_BASE64_CHARS_MAX) return saslFailure("malformed-request", `a response over ${LAB_SASL_BASE64_CHARS_MAX} base64 characters`);
    if (!this.rspauth) return this.response(trimmed);
    // The client accepted our rspauth: an empty response.
    if (trimmed.length > 0) return saslFailure("not-authorized", "unexpected data after rspauth");
    return { kind: "success", mac: this.mac, password: this.password };
  }

  private challenge(): SaslStep {
    // 16 decimal digits: clear of the lengths where the firmware's MD5 goes wrong.
    this.nonce = Array.from({ length: 16 }, () => Math.floor(this.context.random() * 10)).join("");
    const challenge = `nonce="${this.nonce}",qop="auth",charset=utf-8,algorithm=md5-sess`;
    return { kind: "challenge", data: Buffer.from(challenge, "latin1") };
  }

  private response(text: string): SaslStep {
    const values = digestDirectives(decodeRabbitBase64(text));
    const username = values.get("username") ?? "";
    const cnonce = values.get("cnonce") ?? "";
    const qop = values.get("qop") ?? "auth";
    const realm = values.get("realm") ?? "";
    const digestUri = values.get("digest-uri") ?? "";
    const { accounts, domain } = this.context;
    if (values.get("nonce") !== this.nonce || digestUri !== `xmpp/${domain}` || !cnonce) return saslFailure("not-authorized", "malformed response", username);
    // The cnonce is hashed as received, NUL included (a firmware rabbit puts one there).
    for (const password of accounts.candidates(username)) {
      const inputs = { username, realm, password, nonce: this.nonce, cnonce, qop, digestUri };
      if (digestResponse(inputs, "AUTHENTICATE:") !== values.get("response")) continue;
      this.mac = username;
      this.password = password;
      this.rspauth = digestResponse(inputs, ":");
      return { kind: "challenge", data: Buffer.from(`rspauth=${this.rspauth}`, "latin1"), mac: username, verified: true };
    }
    return saslFailure("not-authorized", accounts.get(username) ? "wrong password" : "no such account", username);
  }
}
