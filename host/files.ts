// Private state files (the rabbit's flash, the lab's accounts, tokens): readable by their owner only (0600, in a
// 0700 directory we create), written whole and atomically (a crash leaves the old content or the new one, never a
// mix), and read with a check: a file that fails it is moved aside and reported, never silently replaced.

import {
  closeSync,
  existsSync,
  fchmodSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  constants,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { randomBytes } from "node:crypto";

export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/** The file system calls the writer uses; tests replace some to simulate a full disk or a failed rename. */
export interface FileIo {
  open(path: string, flags: number, mode: number): number;
  write(fd: number, bytes: Uint8Array, offset: number): number;
  fsync(fd: number): void;
  close(fd: number): void;
  rename(from: string, to: string): void;
}

const nodeIo: FileIo = {
  open: (path, flags, mode) => openSync(path, flags, mode),
  write: (fd, bytes, offset) => writeSync(fd, bytes, offset),
  fsync: (fd) => fsyncSync(fd),
  close: (fd) => closeSync(fd),
  rename: (from, to) => renameSync(from, to),
};

/** A file operation that failed, with a message a person can act on ("cannot write X: no space left on device"). */
export class FileError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
    this.name = "FileError";
  }
}

const REASONS: Record<string, string> = {
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EMFILE: "too many open files",
  ENFILE: "too many open files in the system",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  ENOTDIR: "a part of the path is not a directory",
  EISDIR: "it is a directory",
  ENOENT: "no such file or directory",
  EIO: "input/output error",
};

/** "verb path: reason (CODE)". */
export function fileError(verb: string, path: string, error: unknown): FileError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reason = (code && REASONS[code]) ?? (error as Error | undefined)?.message ?? String(error);
  return new FileError(`cannot ${verb} ${path}: ${reason}${code ? ` (${code})` : ""}`, code);
}

/** Creates `directory` (and its parents) with mode 0700 if missing; an existing one is left as it is. */
export function ensurePrivateDir(directory: string): void {
  try {
    mkdirSync(directory, { recursive: true, mode: PRIVATE_DIR_MODE });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") {
      throw new FileError(`cannot create the directory ${directory}: a file of that name is in the way (EEXIST)`, "EEXIST");
    }
    throw fileError("create the directory", directory, error);
  }
}

/**
 * Writes `bytes` to `path` atomically: `path.tmp-PID-RANDOM` (created exclusive, mode 0600), flushed, renamed over
 * `path`, then the directory flushed so the rename survives a power cut. On failure the temporary file is removed,
 * `path` keeps its old content, and a FileError says what went wrong.
 */
export function writePrivateFileAtomic(path: string, bytes: Uint8Array, io: Partial<FileIo> = {}): void {
  const fs = { ...nodeIo, ...io };
  ensurePrivateDir(dirname(path));
  const temporary = temporaryPath(path);
  let fd: number;
  try {
    fd = fs.open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, PRIVATE_FILE_MODE);
  } catch (error) {
    throw fileError("write", path, error);
  }
  try {
    // The umask may have taken bits, never added any; fchmod makes it exactly 0600.
    fchmodSync(fd, PRIVATE_FILE_MODE);
    for (let at = 0; at < bytes.length; ) {
      const written = fs.write(fd, bytes.subarray(at), 0);
      if (written <= 0) throw new Error("the write made no progress");
      at += written;
    }
    fs.fsync(fd);
  } catch (error) {
    closeQuietly(fs, fd);
    removeQuietly(temporary);
    throw fileError("write", path, error);
  }
  try {
    fs.close(fd);
    fs.rename(temporary, path);
  } catch (error) {
    removeQuietly(temporary);
    throw fileError("write", path, error);
  }
  syncDirectory(dirname(path));
}

function closeQuietly(fs: FileIo, fd: number): void {
  try {
    fs.close(fd);
  } catch {
    // Already failing: the first error is the one to report.
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Gone already, or removeStaleTemps takes it next start.
  }
}

/** Flushes a directory's entries (the rename). Some file systems refuse fsync on a directory: nothing more to do. */
function syncDirectory(directory: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(directory, constants.O_RDONLY);
    fsyncSync(fd);
  } catch {
    // EINVAL/EISDIR/EACCES here leave the file written; only its durability across a power cut is weaker.
  } finally {
    if (fd !== undefined) closeQuietly(nodeIo, fd);
  }
}

const TEMPORARY_INFIX = ".tmp-";

/** A fresh name beside `path` for an atomic write: `path.tmp-PID-RANDOM` (removeStaleTemps knows the form). */
export function temporaryPath(path: string): string {
  return `${path}${TEMPORARY_INFIX}${process.pid}-${randomBytes(4).toString("hex")}`;
}

/** The file name a temporaryPath name stands beside (`MAC.flash` for `MAC.flash.tmp-1-ab`), or undefined. */
export function temporaryOf(name: string): string | undefined {
  const at = name.indexOf(TEMPORARY_INFIX);
  return at > 0 ? name.slice(0, at) : undefined;
}

/** Removes `path.tmp-*` left by a writer that died between create and rename; returns their names. Call at open. */
export function removeStaleTemps(path: string): string[] {
  const prefix = `${basename(path)}${TEMPORARY_INFIX}`;
  let names: string[];
  try {
    names = readdirSync(dirname(path)).filter((name) => name.startsWith(prefix));
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    try {
      unlinkSync(join(dirname(path), name));
      removed.push(name);
    } catch {
      // Another process took it, or it cannot be removed: it is never read, so it does no harm.
    }
  }
  return removed;
}

export type PrivateRead =
  | { status: "missing" }
  | { status: "ok"; bytes: Buffer }
  /** Failed `check`: moved to `movedTo`; `message` says so. */
  | { status: "corrupt"; message: string; movedTo: string }
  /** Could not be read (or not moved aside): the caller should refuse to go on, as writing would lose it. */
  | { status: "unreadable"; message: string };

/**
 * Reads a private file of at most `bytesMax` bytes and checks it (`check` returns why it is wrong, or undefined). A
 * file that is too large or fails the check is moved to `path.corrupt-TIMESTAMP`. A group- or world-readable file
 * of ours (from an older version) is made 0600. Never throws.
 */
export function readPrivateFile(path: string, bytesMax: number, check: (bytes: Buffer) => string | undefined): PrivateRead {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { status: "missing" };
    return { status: "unreadable", message: fileError("read", path, error).message };
  }
  let problem: string | undefined;
  let bytes: Buffer = Buffer.alloc(0);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { status: "unreadable", message: `cannot read ${path}: not a regular file` };
    tightenMode(fd, stat.mode, stat.uid);
    if (stat.size > bytesMax) problem = `${stat.size} bytes, more than the ${bytesMax} such a file may hold`;
    else {
      bytes = readAll(fd, bytesMax);
      problem = bytes.length > bytesMax ? `more than ${bytesMax} bytes` : check(bytes);
    }
  } catch (error) {
    return { status: "unreadable", message: fileError("read", path, error).message };
  } finally {
    closeSync(fd);
  }
  return problem === undefined ? { status: "ok", bytes } : moveAside(path, problem);
}

/** Reads to the end, at most `bytesMax` + 1 bytes (one more shows the file grew past the bound). */
function readAll(fd: number, bytesMax: number): Buffer {
  const buffer = Buffer.alloc(bytesMax + 1);
  let length = 0;
  for (;;) {
    const read = readSync(fd, buffer, length, buffer.length - length, null);
    if (read === 0) break;
    length += read;
    if (length === buffer.length) break;
  }
  return buffer.subarray(0, length);
}

function tightenMode(fd: number, mode: number, uid: number): void {
  if ((mode & 0o077) === 0 || uid !== process.getuid?.()) return;
  try {
    fchmodSync(fd, mode & 0o700);
  } catch {
    // Not ours to change after all; the next write replaces it with a 0600 file.
  }
}

function moveAside(path: string, problem: string): PrivateRead {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  let movedTo = `${path}.corrupt-${stamp}`;
  // Never over an earlier corrupt copy (two in the same millisecond).
  for (let n = 2; existsSync(movedTo); n++) movedTo = `${path}.corrupt-${stamp}-${n}`;
  try {
    renameSync(path, movedTo);
  } catch (error) {
    const reason = fileError("move", path, error).message;
    return { status: "unreadable", message: `${path} is corrupt (${problem}); ${reason}` };
  }
  return { status: "corrupt", movedTo, message: `${path} is corrupt (${problem}): kept as ${movedTo}` };
}

/** The mode bits of `path` (for tests and checks), or undefined if it does not exist. */
export function modeOf(path: string): number | undefined {
  try {
    return statSync(path).mode & 0o777;
  } catch {
    return undefined;
  }
}
