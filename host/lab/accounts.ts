// The lab's accounts: per rabbit (MAC), the password it registered and, as a second candidate, the bytes it sent.
// A firmware rabbit registers its password XORed with its MAC and logs in with the raw one (platform.md §2.3): the
// lab keeps PW = hexXOR(WPW, MAC) and WPW itself, and accepts a login with either (a standard rabbit sends PW in
// clear). Kept in a private JSON file (0600, written whole and atomically: host/files.ts). Every entry is checked
// when the file is read: a file with any bad entry is kept aside as FILE.corrupt-TIMESTAMP, reported, and the lab
// starts with no accounts (the rabbits register again). A failed write keeps the accounts in memory and reports it.

import { readPrivateFile, removeStaleTemps, writePrivateFileAtomic, type FileIo } from "../files.js";

/** Longest password kept (a rabbit's is 12 characters). */
export const ACCOUNT_PASSWORD_CHARS_MAX = 128;
/** Accounts kept; a registration beyond is refused, so the file always stays readable. */
export const ACCOUNTS_MAX = 10000;
/**
 * Largest accounts file read: ACCOUNTS_MAX entries of three longest passwords fit, even escaped (6 bytes a
 * character): 10000 × (3 × 768 + 200) bytes, about 25 MB.
 */
export const ACCOUNTS_FILE_BYTES_MAX = 32 * 1024 * 1024;
const CREATED_CHARS_MAX = 64;

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

/** Why `password` cannot be stored: not a string of 1..ACCOUNT_PASSWORD_CHARS_MAX printable characters. */
export function passwordProblem(password: unknown): string | undefined {
  if (typeof password !== "string") return "not a string";
  if (password.length === 0 || password.length > ACCOUNT_PASSWORD_CHARS_MAX) return `${password.length} characters (1..${ACCOUNT_PASSWORD_CHARS_MAX})`;
  if (/[\x00-\x1f\x7f]/.test(password)) return "a control character";
  return undefined;
}

/** Why an account for `mac` with `password` cannot be stored, or undefined. */
export function accountProblem(mac: string, password: string): string | undefined {
  if (!/^[0-9a-f]{12}$/.test(mac)) return "the MAC is not 12 lowercase hex digits";
  const problem = passwordProblem(password);
  return problem ? `password: ${problem}` : undefined;
}

const FIELDS = new Set(["password", "registered", "confirmed", "created"]);

/** One stored entry, checked field by field. */
function entryOf(mac: string, value: unknown): Account | string {
  if (!/^[0-9a-f]{12}$/.test(mac)) return `key ${JSON.stringify(mac.slice(0, 20))} is not a MAC (12 lowercase hex digits)`;
  if (typeof value !== "object" || value === null || Array.isArray(value)) return `${mac}: not an object`;
  const entry = value as Record<string, unknown>;
  const unknown = Object.keys(entry).find((key) => !FIELDS.has(key));
  if (unknown !== undefined) return `${mac}: unknown field ${JSON.stringify(unknown.slice(0, 20))}`;
  for (const field of ["password", "registered", "confirmed"]) {
    if (field === "confirmed" && entry.confirmed === undefined) continue;
    const problem = passwordProblem(entry[field]);
    if (problem) return `${mac}: ${field}: ${problem}`;
  }
  if (typeof entry.created !== "string" || entry.created.length > CREATED_CHARS_MAX) return `${mac}: bad created`;
  const account: Account = { password: entry.password as string, registered: entry.registered as string, created: entry.created };
  if (entry.confirmed !== undefined) account.confirmed = entry.confirmed as string;
  return account;
}

/** The accounts file's content, or why it is not a valid one. */
export function parseAccounts(bytes: Uint8Array): Map<string, Account> | string {
  let stored: unknown;
  try {
    stored = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (error) {
    return `bad JSON (${(error as Error).message.slice(0, 80)})`;
  }
  if (typeof stored !== "object" || stored === null || Array.isArray(stored)) return "not a JSON object";
  const entries = Object.entries(stored);
  if (entries.length > ACCOUNTS_MAX) return `${entries.length} accounts, more than ${ACCOUNTS_MAX}`;
  const accounts = new Map<string, Account>();
  for (const [mac, value] of entries) {
    const account = entryOf(mac, value);
    if (typeof account === "string") return account;
    accounts.set(mac, account);
  }
  return accounts;
}

export interface AccountsOptions {
  /** One line per problem with the file (corrupt at start, a failed write). Default: a process warning. */
  onProblem?: (message: string) => void;
  /** File system calls to replace (tests). */
  io?: Partial<FileIo>;
  /** Accounts kept in memory (a fleet's lab); a file always holds at most ACCOUNTS_MAX. */
  accountsMax?: number;
}

export class Accounts {
  private accounts = new Map<string, Account>();
  /** Why the last write did not reach the file (undefined: it did, or there is no file). */
  lastWriteError: string | undefined;
  /** What happened to the file at start, if anything. */
  readonly startProblem: string | undefined;

  private get accountsMax(): number {
    return this.path ? ACCOUNTS_MAX : (this.options.accountsMax ?? ACCOUNTS_MAX);
  }

  /** Throws (a message to print) only when the file exists but can be neither read nor moved aside. */
  constructor(private readonly path?: string, private readonly options: AccountsOptions = {}) {
    if (!path) return;
    removeStaleTemps(path);
    let parsed: Map<string, Account> | undefined;
    const stored = readPrivateFile(path, ACCOUNTS_FILE_BYTES_MAX, (bytes) => {
      const result = parseAccounts(bytes);
      if (typeof result === "string") return result;
      parsed = result;
      return undefined;
    });
    if (stored.status === "unreadable") throw new Error(stored.message);
    if (stored.status === "corrupt") {
      this.startProblem = `${stored.message}; the lab starts with no accounts`;
      this.problem(this.startProblem);
    }
    if (parsed && stored.status === "ok") this.accounts = parsed;
  }

  private problem(message: string): void {
    if (this.options.onProblem) this.options.onProblem(message);
    else process.emitWarning(message, "AccountsWarning");
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

  /**
   * Registers if no password is stored for this MAC. False: one is, or the MAC or password is not acceptable
   * (accountProblem), or ACCOUNTS_MAX accounts exist.
   */
  register(mac: string, sent: string): boolean {
    if (this.accounts.has(mac) || accountProblem(mac, sent) !== undefined || this.accounts.size >= this.accountsMax) return false;
    const password = /^[0-9a-f]+$/.test(sent) && sent.length === mac.length ? hexXor(sent, mac) : sent;
    this.accounts.set(mac, { password, registered: sent, created: new Date().toISOString() });
    this.save();
    return true;
  }

  confirm(mac: string, password: string): void {
    const account = this.accounts.get(mac);
    if (!account || account.confirmed === password || passwordProblem(password) !== undefined) return;
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

  /** Writes the file; a failure is reported and the accounts stay in memory (never thrown into a connection). */
  private save(): void {
    if (!this.path) return;
    const bytes = Buffer.from(JSON.stringify(Object.fromEntries(this.accounts), null, 2) + "\n");
    try {
      // Never write what the next start would refuse to read (the limits above make this unreachable).
      if (bytes.length > ACCOUNTS_FILE_BYTES_MAX) throw new Error(`cannot write ${this.path}: more than ${ACCOUNTS_FILE_BYTES_MAX} bytes`);
      writePrivateFileAtomic(this.path, bytes, this.options.io);
      this.lastWriteError = undefined;
    } catch (error) {
      this.lastWriteError = (error as Error).message;
      this.problem(`${this.lastWriteError}; the accounts are kept in memory, the file keeps its older content`);
    }
  }
}
