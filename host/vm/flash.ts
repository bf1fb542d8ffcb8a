// The rabbit's 4 KB flash sector (spec §2.2). In memory, or backed by a file that is written whole and atomically
// (to a temporary file, then renamed over the old one), so a crash or Ctrl-C never leaves it half written.

import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";

export const FLASH_SIZE = 4096;
/** Config bytes 0..39: the server URL (locate.jsp base). */
export const FLASH_SERVER_URL = 0;
export const FLASH_SERVER_URL_SIZE = 40;
/** 'd' at 208 marks a password in 209..220 (12 characters). */
export const FLASH_PASSWORD_FLAG = 208;
export const FLASH_PASSWORD = 209;

export class Flash {
  readonly bytes: Uint8Array;
  /** Sector writes so far (the firmware rewrites the whole sector each time). */
  writes = 0;

  constructor(private readonly path?: string, initial?: Uint8Array) {
    this.bytes = new Uint8Array(FLASH_SIZE).fill(0xff);
    if (path && existsSync(path)) {
      const stored = readFileSync(path);
      if (stored.length !== FLASH_SIZE) throw new Error(`${path}: a flash file holds ${FLASH_SIZE} bytes, this one ${stored.length}`);
      this.bytes.set(stored);
    } else if (initial) {
      this.bytes.set(initial.subarray(0, FLASH_SIZE));
    }
  }

  read(offset: number, length: number): Uint8Array {
    const start = Math.min(Math.max(offset, 0), FLASH_SIZE);
    return this.bytes.slice(start, Math.min(start + Math.max(length, 0), FLASH_SIZE));
  }

  write(offset: number, data: Uint8Array): void {
    const start = Math.min(Math.max(offset, 0), FLASH_SIZE);
    this.bytes.set(data.subarray(0, FLASH_SIZE - start), start);
    this.writes++;
    this.save();
  }

  /** Writes the whole sector to the file: a temporary file first, flushed, then renamed over the old one. */
  save(): void {
    if (!this.path) return;
    const temporary = `${this.path}.tmp-${process.pid}`;
    const fd = openSync(temporary, "w");
    try {
      writeSync(fd, this.bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, this.path);
  }

  serverUrl(): string {
    const raw = this.bytes.subarray(FLASH_SERVER_URL, FLASH_SERVER_URL + FLASH_SERVER_URL_SIZE);
    let end = raw.findIndex((b) => b === 0 || b === 0xff);
    if (end < 0) end = raw.length;
    return Buffer.from(raw.subarray(0, end)).toString("latin1");
  }

  setServerUrl(url: string): void {
    const bytes = Buffer.from(url, "latin1");
    if (bytes.length > FLASH_SERVER_URL_SIZE) throw new Error(`server URL longer than ${FLASH_SERVER_URL_SIZE} bytes: ${url}`);
    const field = new Uint8Array(FLASH_SERVER_URL_SIZE);
    field.set(bytes);
    this.write(FLASH_SERVER_URL, field);
  }

  /** The stored password, or undefined. */
  password(): string | undefined {
    if (this.bytes[FLASH_PASSWORD_FLAG] !== 0x64) return undefined;
    return Buffer.from(this.bytes.subarray(FLASH_PASSWORD, FLASH_PASSWORD + 12)).toString("latin1");
  }

  setPassword(password: string | undefined): void {
    if (password === undefined) {
      this.write(FLASH_PASSWORD_FLAG, Uint8Array.of(0xff));
      return;
    }
    if (!/^[0-9a-f]{12}$/.test(password)) throw new Error("a rabbit password is 12 lowercase hex digits");
    this.write(FLASH_PASSWORD_FLAG, Buffer.from(`d${password}`, "latin1"));
  }
}
