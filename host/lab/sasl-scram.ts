// SCRAM-SHA-1's server side (RFC 5802), without channel binding: the gs2 header is "n,," or "y,," (the client does
// not bind, or thinks the server cannot; the lab offers no -PLUS). Written from the RFC on node:crypto.
//
//   client-first   gs2-header "n=" saslname ",r=" c-nonce [extensions]
//   server-first   "r=" c-nonce s-nonce ",s=" salt ",i=" 4096
//   client-final   "c=" base64(gs2-header) ",r=" nonce [extensions] ",p=" proof
//   server-final   "v=" ServerSignature, in <success>
//
// The credentials a real server stores (salt, StoredKey, ServerKey) are kept per account by scram-store.ts. An account
// may log in with either of its passwords (accounts.ts): both share the salt. A name with no account gets a salt
// derived from a server secret (no PBKDF2, and no telling which names exist), then not-authorized.

import { createHash, timingSafeEqual } from "node:crypto";
import type { Account } from "./accounts.js";
import { LAB_SASL_USERNAME_CHARS_MAX, LAB_SCRAM_ATTRIBUTES_MAX, LAB_SCRAM_CLIENT_NONCE_CHARS_MAX, LAB_SCRAM_ITERATIONS, LAB_SCRAM_SERVER_NONCE_BYTES } from "./limits.js";
import { decodeSaslBase64, saslFailure, saslText, type SaslContext, type SaslExchange, type SaslStep } from "./sasl-common.js";
import { hmac, SHA1_BYTES } from "./scram-store.js";

/** One message's attributes, "a=value" each, in order; a string saying why it is not that. */
function attributes(message: string): { name: string; value: string }[] | string {
  const parts = message.split(",");
  if (parts.length > LAB_SCRAM_ATTRIBUTES_MAX) return `more than ${LAB_SCRAM_ATTRIBUTES_MAX} attributes`;
  const out: { name: string; value: string }[] = [];
  for (const part of parts) {
    if (!/^[A-Za-z]=/.test(part)) return "an attribute that is not a=value";
    out.push({ name: part[0]!, value: part.slice(2) });
  }
  return out;
}

/** RFC 5802's saslname unescaped ("=2C" is ",", "=3D" is "="), or undefined when it is not one. */
function saslName(value: string): string | undefined {
  if (/=(?!2C|3D)/.test(value)) return undefined;
  const name = value.replace(/=2C/g, ",").replace(/=3D/g, "=");
  return name.length > 0 && name.length <= LAB_SASL_USERNAME_CHARS_MAX && !/\s/.test(name) ? name : undefined;
}

/** A nonce: printable ASCII but ",", bounded. */
function validNonce(value: string, max: number): boolean {
  return value.length > 0 && value.length <= max && /^[\x21-\x2b\x2d-\x7e]+$/.test(value);
}

type Stage = "first" | "final" | "done";

export class ScramServer implements SaslExchange {
  private stage: Stage = "first";
  private gs2Header = "";
  private username = "";
  private nonce = "";
  private clientFirstBare = "";
  private serverFirst = "";
  private account: Account | undefined;
  /** An empty challenge went out for a missing initial response. */
  private askedFirst = false;

  constructor(private readonly context: SaslContext) {}

  step(text: string): SaslStep {
    // No initial response in <auth>: an empty challenge asks for it (RFC 6120 §6.4.2).
    if (this.stage === "first" && text.trim() === "" && !this.askedFirst) {
      this.askedFirst = true;
      return { kind: "challenge", data: Buffer.alloc(0) };
    }
    const bytes = decodeSaslBase64(text);
    if (!Buffer.isBuffer(bytes)) return this.over(bytes);
    const message = saslText(bytes);
    if (message === undefined) return this.over(saslFailure("malformed-request", "not UTF-8 text", this.mac));
    if (this.stage === "first") return this.over(this.first(message));
    if (this.stage === "final") return this.over(this.final(message));
    return this.over(saslFailure("malformed-request", "a message after the exchange", this.mac));
  }

  private get mac(): string | undefined {
    return this.username || undefined;
  }

  /** A failure ends the exchange. */
  private over(step: SaslStep): SaslStep {
    if (step.kind !== "challenge") this.stage = "done";
    return step;
  }

  private first(message: string): SaslStep {
    const header = /^([ny]),,/.exec(message);
    if (!header) {
      if (message.startsWith("p=")) return saslFailure("not-authorized", "channel binding asked for (SCRAM-SHA-1-PLUS is not offered)");
      if (/^[ny],a=[^,]*,/.test(message)) return saslFailure("invalid-authzid", "an authorization identity (only n,, and y,, are taken)");
      return saslFailure("malformed-request", "not a gs2 header n,, or y,,");
    }
    this.gs2Header = header[0];
    this.clientFirstBare = message.slice(header[0].length);
    const found = attributes(this.clientFirstBare);
    if (typeof found === "string") return saslFailure("malformed-request", `client-first: ${found}`);
    const [user, nonce] = found;
    if (user?.name === "m") return saslFailure("malformed-request", "client-first: a mandatory extension (m=)");
    if (user?.name !== "n" || nonce?.name !== "r") return saslFailure("malformed-request", "client-first: not n=…,r=…");
    const username = saslName(user.value);
    if (username === undefined) return saslFailure("malformed-request", "client-first: a bad username");
    this.username = username;
    if (!validNonce(nonce.value, LAB_SCRAM_CLIENT_NONCE_CHARS_MAX)) return saslFailure("malformed-request", "client-first: a bad nonce", this.mac);
    return this.serverFirstMessage(nonce.value);
  }

  private serverFirstMessage(clientNonce: string): SaslStep {
    const { accounts, scram } = this.context;
    this.account = accounts.get(this.username);
    const salt = this.account ? scram.salt(this.account, (length) => this.context.randomBytes(length)) : scram.fakeSalt(this.username);
    this.nonce = clientNonce + this.context.randomBytes(LAB_SCRAM_SERVER_NONCE_BYTES).toString("base64");
    this.serverFirst = `r=${this.nonce},s=${salt.toString("base64")},i=${LAB_SCRAM_ITERATIONS}`;
    this.stage = "final";
    return { kind: "challenge", data: Buffer.from(this.serverFirst, "utf8"), mac: this.username };
  }

  private final(message: string): SaslStep {
    const found = attributes(message);
    if (typeof found === "string") return saslFailure("malformed-request", `client-final: ${found}`, this.mac);
    const binding = found[0];
    const nonce = found[1];
    const proof = found.at(-1);
    if (found.length < 3 || binding?.name !== "c" || nonce?.name !== "r" || proof?.name !== "p") return saslFailure("malformed-request", "client-final: not c=…,r=…,p=…", this.mac);
    if (binding.value !== Buffer.from(this.gs2Header, "utf8").toString("base64")) return saslFailure("malformed-request", "client-final: c= is not the gs2 header sent", this.mac);
    if (nonce.value !== this.nonce) return saslFailure("not-authorized", "client-final: not this exchange's nonce (a replay?)", this.mac);
    const proofBytes = /^[A-Za-z0-9+/]{27}=?$/.test(proof.value) ? Buffer.from(proof.value, "base64") : undefined;
    if (proofBytes?.length !== SHA1_BYTES) return saslFailure("malformed-request", "client-final: a proof that is not 20 bytes of base64", this.mac);
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${message.slice(0, message.length - proof.value.length - 3)}`;
    return this.verify(proofBytes, Buffer.from(authMessage, "utf8"));
  }

  /** The proof against each of the account's passwords (RFC 5802 §3: H(ClientProof XOR ClientSignature) = StoredKey). */
  private verify(proof: Buffer, authMessage: Buffer): SaslStep {
    const account = this.account;
    // Forgotten (or registered again) since the salt went out: no such account any more.
    if (!account || this.context.accounts.get(this.username) !== account) return saslFailure("not-authorized", "no such account", this.mac);
    const passwords = this.context.accounts.candidates(this.username);
    // The confirmed password first (accounts.ts): after an account's first login, one derivation is enough.
    for (const password of passwords) {
      const keys = this.context.scram.keys(account, password, passwords);
      if (!keys) break;
      const signature = hmac(keys.storedKey, authMessage);
      const clientKey = Buffer.alloc(SHA1_BYTES);
      for (let i = 0; i < SHA1_BYTES; i++) clientKey[i] = proof[i]! ^ signature[i]!;
      if (!timingSafeEqual(createHash("sha1").update(clientKey).digest(), keys.storedKey)) continue;
      const serverFinal = `v=${hmac(keys.serverKey, authMessage).toString("base64")}`;
      return { kind: "success", data: Buffer.from(serverFinal, "utf8"), mac: this.username, password };
    }
    return saslFailure("not-authorized", "wrong password", this.mac);
  }
}
