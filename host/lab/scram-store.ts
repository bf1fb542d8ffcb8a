// SCRAM-SHA-1's server-side credentials (RFC 5802 §3), kept per account for the server's life: a random salt, and per
// password StoredKey = H(HMAC(SaltedPassword, "Client Key")) and ServerKey = HMAC(SaltedPassword, "Server Key"),
// SaltedPassword = PBKDF2(password, salt, 4096). Derived on an account's first SCRAM login, so a login costs two HMACs,
// not 4096. The exchange itself is sasl-scram.ts.

import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import type { Account } from "./accounts.js";
import { LAB_SCRAM_ITERATIONS, LAB_SCRAM_SALT_BYTES } from "./limits.js";

export const SHA1_BYTES = 20;

export interface ScramKeys {
  storedKey: Buffer;
  serverKey: Buffer;
}

interface ScramCredentials {
  salt: Buffer;
  /** Per password (an account has two, accounts.ts), its keys. */
  keys: Map<string, ScramKeys>;
}

export function hmac(key: Buffer, data: Buffer | string): Buffer {
  return createHmac("sha1", key).update(data).digest();
}

/** StoredKey and ServerKey of a password (RFC 5802 §3). */
export function scramKeys(password: string, salt: Buffer, iterations = LAB_SCRAM_ITERATIONS): ScramKeys {
  const salted = pbkdf2Sync(Buffer.from(password, "utf8"), salt, iterations, SHA1_BYTES, "sha1");
  return { storedKey: createHash("sha1").update(hmac(salted, "Client Key")).digest(), serverKey: hmac(salted, "Server Key") };
}

/**
 * The server's SCRAM credentials, per account, for the server's life: keyed by the account's own record, so an
 * account forgotten and registered again gets a new salt, and a forgotten one's keys go with it.
 */
export class ScramStore {
  private readonly credentials = new WeakMap<Account, ScramCredentials>();
  /** For the salts of names with no account. */
  private readonly secret = randomBytes(32);
  /** PBKDF2 runs so far (one per account and password, not one per login). */
  derivations = 0;

  /** The account's salt, made on first use. */
  salt(account: Account, randomBytes: (length: number) => Buffer): Buffer {
    let found = this.credentials.get(account);
    if (!found) {
      found = { salt: randomBytes(LAB_SCRAM_SALT_BYTES), keys: new Map() };
      this.credentials.set(account, found);
    }
    return found.salt;
  }

  /** A stable salt for a name without an account. */
  fakeSalt(username: string): Buffer {
    return hmac(this.secret, username).subarray(0, LAB_SCRAM_SALT_BYTES);
  }

  /**
   * The keys of one of the account's passwords, derived on first use and kept; `current` is the account's passwords
   * of now (keys of others are dropped). Undefined before the account's salt is made.
   */
  keys(account: Account, password: string, current: string[]): ScramKeys | undefined {
    const found = this.credentials.get(account);
    if (!found) return undefined;
    for (const kept of found.keys.keys()) if (!current.includes(kept)) found.keys.delete(kept);
    let keys = found.keys.get(password);
    if (!keys) {
      keys = scramKeys(password, found.salt);
      this.derivations++;
      found.keys.set(password, keys);
    }
    return keys;
  }
}

