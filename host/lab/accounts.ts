// The lab's accounts: per rabbit (MAC), the password it registered and, as a second candidate, the bytes it sent.
// A firmware rabbit registers its password XORed with its MAC and logs in with the raw one (platform.md §2.3): the
// lab keeps PW = hexXOR(WPW, MAC) and WPW itself, and accepts a login with either (a standard rabbit sends PW in
// clear). Kept in a JSON file, written whole through a temporary file and a rename.

import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";

export interface Account {
  /** hexXOR(registered, MAC): what a firmware rabbit logs in with. */
  password: string;
  /** What the rabbit sent when it registered: what a standard rabbit logs in with. */
  registered: string;
  /** The one that worked last, if any. */
  confirmed?: string;
  created: string;
}

export function hexXor(a: string, b: string): string {
  let out = "";
  for (let i = 0; i < a.length; i++) out += (parseInt(a[i]!, 16) ^ parseInt(b[i] ?? "0", 16)).toString(16);
  return out;
}

export class Accounts {
  private readonly accounts = new Map<string, Account>();

  constructor(private readonly path?: string) {
    if (path && existsSync(path)) {
      const stored = JSON.parse(readFileSync(path, "utf8")) as Record<string, Account>;
      for (const [mac, account] of Object.entries(stored)) this.accounts.set(mac, account);
    }
  }

  get(mac: string): Account | undefined {
    return this.accounts.get(mac);
  }

  /** Passwords to try for a login, the confirmed one first. */
  candidates(mac: string): string[] {
    const account = this.accounts.get(mac);
    if (!account) return [];
    const all = [account.confirmed, account.password, account.registered].filter((p): p is string => p !== undefined);
    return [...new Set(all)];
  }

  /** Registers if no password is stored for this MAC (false: one is). */
  register(mac: string, sent: string): boolean {
    if (this.accounts.has(mac)) return false;
    const password = /^[0-9a-f]+$/.test(sent) && sent.length === mac.length ? hexXor(sent, mac) : sent;
    this.accounts.set(mac, { password, registered: sent, created: new Date().toISOString() });
    this.save();
    return true;
  }

  confirm(mac: string, password: string): void {
    const account = this.accounts.get(mac);
    if (!account || account.confirmed === password) return;
    account.confirmed = password;
    this.save();
  }

  /** sendMailXMPP.jsp: the platform forgets the password (as OpenJabNab does), so the rabbit can register again. */
  forget(mac: string): boolean {
    const had = this.accounts.delete(mac);
    if (had) this.save();
    return had;
  }

  list(): string[] {
    return [...this.accounts.keys()];
  }

  private save(): void {
    if (!this.path) return;
    const temporary = `${this.path}.tmp-${process.pid}`;
    writeFileSync(temporary, JSON.stringify(Object.fromEntries(this.accounts), null, 2) + "\n");
    renameSync(temporary, this.path);
  }
}
