// The fleet's flash sectors on disk (--flash-dir): DIR/MAC.flash, 4096 bytes, mode 0600, each written atomically
// (temporary file, fsync, rename, then one fsync of the directory for all the renames before it) in the
// background, so that ten thousand rabbits registering at once never block the event loop. A rabbit writes its
// sector again before the last write finished: only the newest is written. A failed write (EMFILE, ENOSPC) is
// counted and said once; the sector stays right in memory, and the next write tries again.

import { constants } from "node:fs";
import { open, opendir, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { ensurePrivateDir, PRIVATE_FILE_MODE, temporaryOf, temporaryPath } from "../files.js";
import { Flash, FLASH_SIZE } from "../vm/flash.js";

/** DIR/MAC.flash: a rabbit's sector file. */
const FLASH_SUFFIX = ".flash";
/** Sector writes in flight at once (each holds a file descriptor). */
export const FLASH_WRITES_IN_FLIGHT_MAX = 16;
/** Sector files read at once at the start. */
const FLASH_READS_IN_FLIGHT_MAX = 32;

/** The first FLASH_SIZE + 1 bytes of a file (enough to tell a sector from anything else, however large). */
async function readSector(path: string): Promise<Buffer> {
  const file = await open(path, constants.O_RDONLY);
  try {
    const buffer = Buffer.alloc(FLASH_SIZE + 1);
    const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

class StoredFlash extends Flash {
  constructor(private readonly store: FlashStore, private readonly mac: string, initial: Uint8Array | undefined) {
    super(undefined, initial);
  }

  override write(offset: number, data: Uint8Array): void {
    super.write(offset, data);
    this.store.queue(this.mac, this.bytes);
  }
}

export class FlashStore {
  failures = 0;
  /** Sectors whose file was not 4096 bytes at the start: they start erased. */
  corrupt = 0;
  private readonly loaded = new Map<string, Uint8Array>();
  private readonly pending = new Map<string, Uint8Array>();
  private inFlight = 0;
  private directorySync: Promise<void> | undefined;
  private directoryDirty = false;
  private idle: (() => void)[] = [];

  constructor(readonly directory: string, private readonly onProblem: (message: string) => void) {
    ensurePrivateDir(directory);
  }

  private path(mac: string): string {
    return join(this.directory, `${mac}${FLASH_SUFFIX}`);
  }

  /**
   * Reads the sectors that exist for `macs` (missing ones start erased). At most FLASH_SIZE + 1 bytes of a file are
   * read: one of another size is not a sector, its rabbit starts erased, and one line says how many there were.
   */
  async load(macs: string[]): Promise<void> {
    let next = 0;
    const reader = async () => {
      while (next < macs.length) {
        const mac = macs[next++]!;
        const bytes = await readSector(this.path(mac)).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== "ENOENT") this.problem(`cannot read ${this.path(mac)}: ${error.code ?? error.message}; the rabbit starts with an erased flash`);
          return undefined;
        });
        if (bytes && bytes.length === FLASH_SIZE) this.loaded.set(mac, bytes);
        else if (bytes) this.corrupt++;
      }
    };
    await Promise.all(Array.from({ length: FLASH_READS_IN_FLIGHT_MAX }, reader));
    await this.removeStaleTemps(new Set(macs));
    if (this.corrupt > 0) this.problem(`${this.corrupt} flash file(s) in ${this.directory} are not ${FLASH_SIZE} bytes: those rabbits start with an erased flash, and their files are replaced at their first write`);
  }

  /**
   * Removes MAC.flash.tmp-* of these rabbits: left by a fleet stopped between a write's create and its rename, never
   * read, and otherwise never removed. Only this worker's MACs, before its first write: another worker's (or shard's)
   * writes in flight are not touched. The directory is streamed, not listed whole.
   */
  private async removeStaleTemps(macs: Set<string>): Promise<void> {
    let removed = 0;
    try {
      for await (const entry of await opendir(this.directory)) {
        const target = temporaryOf(entry.name);
        if (target === undefined || !target.endsWith(FLASH_SUFFIX) || !macs.has(target.slice(0, -FLASH_SUFFIX.length))) continue;
        await unlink(join(this.directory, entry.name)).then(() => removed++, () => undefined);
      }
    } catch (error) {
      this.problem(`cannot list ${this.directory} for temporary files: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    if (removed > 0) this.problem(`removed ${removed} temporary flash file(s) in ${this.directory} left by an interrupted write`);
  }

  /** The rabbit's flash: what the file held, with the platform's URL. */
  flashFor(mac: string, platformUrl: string): Flash {
    const flash = new StoredFlash(this, mac, this.loaded.get(mac));
    this.loaded.delete(mac);
    if (flash.serverUrl() !== platformUrl) flash.setServerUrl(platformUrl);
    return flash;
  }

  queue(mac: string, bytes: Uint8Array): void {
    this.pending.set(mac, bytes.slice());
    this.pump();
  }

  /** Resolves when every queued sector is on disk (or failed). */
  flush(): Promise<void> {
    if (this.pending.size === 0 && this.inFlight === 0 && !this.directorySync) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private pump(): void {
    while (this.inFlight < FLASH_WRITES_IN_FLIGHT_MAX && this.pending.size > 0) {
      const [mac, bytes] = this.pending.entries().next().value as [string, Uint8Array];
      this.pending.delete(mac);
      this.inFlight++;
      void this.writeSector(mac, bytes).then(() => {
        this.inFlight--;
        this.pump();
        this.settle();
      });
    }
  }

  private async writeSector(mac: string, bytes: Uint8Array): Promise<void> {
    const path = this.path(mac);
    const temporary = temporaryPath(path);
    try {
      const file = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, PRIVATE_FILE_MODE);
      try {
        await file.chmod(PRIVATE_FILE_MODE);
        await file.writeFile(bytes);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temporary, path);
      this.syncDirectory();
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      this.failures++;
      if (this.failures === 1) this.problem(`cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; the sector is kept in memory (further failures are counted in the report)`);
    }
  }

  /** One fsync of the directory covers every rename before it; renames during one get the next. */
  private syncDirectory(): void {
    if (this.directorySync) {
      this.directoryDirty = true;
      return;
    }
    this.directorySync = (async () => {
      do {
        this.directoryDirty = false;
        const handle = await open(this.directory, constants.O_RDONLY).catch(() => undefined);
        await handle?.sync().catch(() => undefined);
        await handle?.close();
      } while (this.directoryDirty);
    })().finally(() => {
      this.directorySync = undefined;
      this.settle();
    });
  }

  private settle(): void {
    if (this.pending.size > 0 || this.inFlight > 0 || this.directorySync) return;
    for (const resolve of this.idle.splice(0)) resolve();
  }

  private problem(message: string): void {
    this.onProblem(message);
  }
}
