// The server's side of DIGEST-MD5 (RFC 2831 §2.1.2.1), one copy for the lab's dialects and the tests: the response a
// client must send and the rspauth a server answers, the directives of a response, and base64 as rabbits send it.
// Written from the RFC on node:crypto, independently of the rabbit's own code (the tests check the rabbit with it).

import { createHash } from "node:crypto";

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
