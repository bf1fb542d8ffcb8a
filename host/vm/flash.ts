// The rabbit's 4 KB flash sector (spec §2.2). In memory, or backed by a private file (0600) that is written whole
// and atomically (host/files.ts), so a crash or Ctrl-C never leaves it half written.
//
// A file that is not exactly 4096 bytes is corrupt: it is kept aside as FILE.corrupt-TIMESTAMP, reported, and the
// rabbit starts with an erased sector, as a real rabbit with a bad flash sector does (it then needs its platform
// URL again: `run --platform`). A file that cannot be read at all (permissions) or not moved aside is an Error whose
// message the CLI prints: writing over it would lose it. A failed write (full disk, too many open files) never
// throws into the module: the sector stays right in memory, `lastWriteError` says why, `onProblem` hears it.

import { readPrivateFile, removeStaleTemps, writePrivateFileAtomic, type FileIo } from "../files.js";

export const FLASH_SIZE = 4096;
// The layout, as assembly/flash-map.ts has it (test/abi.test.ts checks that they agree).
/** Config bytes 0..39: the server URL (locate.jsp base). */
export const FLASH_SERVER_URL_OFFSET = 0;
export const FLASH_SERVER_URL_SIZE = 40;
/** 'd' at 208 marks a password in 209..220 (12 characters). */
export const FLASH_PASSWORD_FLAG_OFFSET = 208;
export const FLASH_PASSWORD_FLAG = 0x64;
export const FLASH_PASSWORD_OFFSET = 209;
export const PASSWORD_LENGTH = 12;

export interface FlashOptions {
  /** One line per problem with the file (corrupt at start, a failed write). Default: a process warning. */
  onProblem?: (message: string) => void;
  /** File system calls to replace (tests: a full disk). */
  io?: Partial<FileIo>;
}

export class Flash {
  readonly bytes: Uint8Array;
  /** Sector writes so far (the firmware rewrites the whole sector each time). */
  writes = 0;
  /** Why the last write did not reach the file (undefined: it did, or there is no file). */
  lastWriteError: string | undefined;
  /** What happened to the file at start, if anything ("... is corrupt ...: kept as ..."). */
  readonly startProblem: string | undefined;

  constructor(private readonly path?: string, initial?: Uint8Array, private readonly options: FlashOptions = {}) {
    this.bytes = new Uint8Array(FLASH_SIZE).fill(0xff);
    if (!path) {
      if (initial) this.bytes.set(initial.subarray(0, FLASH_SIZE));
      return;
    }
    removeStaleTemps(path);
    const stored = readPrivateFile(path, FLASH_SIZE, (bytes) =>
      bytes.length === FLASH_SIZE ? undefined : `${bytes.length} bytes, a flash sector holds ${FLASH_SIZE}`);
    if (stored.status === "unreadable") throw new Error(stored.message);
    if (stored.status === "ok") this.bytes.set(stored.bytes);
    else if (stored.status === "corrupt") {
      this.startProblem = `${stored.message}; the rabbit starts with an erased flash`;
      this.problem(this.startProblem);
    } else if (initial) this.bytes.set(initial.subarray(0, FLASH_SIZE));
  }

  private problem(message: string): void {
    if (this.options.onProblem) this.options.onProblem(message);
    else process.emitWarning(message, "FlashWarning");
  }

  read(offset: number, length: number): Uint8Array {
    const start = Math.min(Math.max(offset, 0), FLASH_SIZE);
    return this.bytes.slice(start, Math.min(start + Math.max(length, 0), FLASH_SIZE));
  }

  /** The module's flash_write: never throws (it runs inside a WebAssembly import). */
  write(offset: number, data: Uint8Array): void {
    const start = Math.min(Math.max(offset, 0), FLASH_SIZE);
    this.bytes.set(data.subarray(0, FLASH_SIZE - start), start);
    this.writes++;
    try {
      this.save();
      this.lastWriteError = undefined;
    } catch (error) {
      this.lastWriteError = (error as Error).message;
      this.problem(`${this.lastWriteError}; the flash is kept in memory, the file keeps its older content`);
    }
  }

  /** Writes the whole sector to the file, atomically; throws a FileError ("cannot write ...: reason"). */
  save(): void {
    if (!this.path) return;
    writePrivateFileAtomic(this.path, this.bytes, this.options.io);
  }

  serverUrl(): string {
    const raw = this.bytes.subarray(FLASH_SERVER_URL_OFFSET, FLASH_SERVER_URL_OFFSET + FLASH_SERVER_URL_SIZE);
    let end = raw.findIndex((b) => b === 0 || b === 0xff);
    if (end < 0) end = raw.length;
    return Buffer.from(raw.subarray(0, end)).toString("latin1");
  }

  setServerUrl(url: string): void {
    const bytes = Buffer.from(url, "latin1");
    if (bytes.length > FLASH_SERVER_URL_SIZE) throw new Error(`server URL longer than ${FLASH_SERVER_URL_SIZE} bytes: ${url}`);
    const field = new Uint8Array(FLASH_SERVER_URL_SIZE);
    field.set(bytes);
    this.write(FLASH_SERVER_URL_OFFSET, field);
  }

  /** The stored password, or undefined. */
  password(): string | undefined {
    if (this.bytes[FLASH_PASSWORD_FLAG_OFFSET] !== FLASH_PASSWORD_FLAG) return undefined;
    return Buffer.from(this.bytes.subarray(FLASH_PASSWORD_OFFSET, FLASH_PASSWORD_OFFSET + PASSWORD_LENGTH)).toString("latin1");
  }

  setPassword(password: string | undefined): void {
    if (password === undefined) {
      this.write(FLASH_PASSWORD_FLAG_OFFSET, Uint8Array.of(0xff));
      return;
    }
    if (!/^[0-9a-f]{12}$/.test(password)) throw new Error("a rabbit password is 12 lowercase hex digits");
    this.write(FLASH_PASSWORD_FLAG_OFFSET, Buffer.from([FLASH_PASSWORD_FLAG, ...Buffer.from(password, "latin1")]));
  }
}
