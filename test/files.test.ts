// Private state files (issue 12): the flash file and the lab's accounts are 0600 in a 0700 directory we create,
// written atomically (a failure leaves the old content), stale temporary files are removed at start, and a corrupt
// file is kept aside with a message, never silently replaced and never a crash. Full disks and failed renames are
// simulated by replacing one file system call; nothing here depends on permissions (the tests may run as root).

import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { FileError, modeOf, readPrivateFile, removeStaleTemps, writePrivateFileAtomic, type FileIo } from "../host/files.js";
import { Accounts, ACCOUNT_PASSWORD_CHARS_MAX, parseAccounts } from "../host/lab/accounts.js";
import { Flash, FLASH_SIZE } from "../host/vm/flash.js";

function withDirectory(body: (directory: string) => void): void {
  const directory = mkdtempSync(join(tmpdir(), "nabaztag-files-"));
  try {
    body(directory);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

function failing(code: string, message: string): () => never {
  return () => {
    throw Object.assign(new Error(`${code}: ${message}`), { code });
  };
}

/** The names in `directory` that are not `keep`. */
function others(directory: string, ...keep: string[]): string[] {
  return readdirSync(directory).filter((name) => !keep.includes(name));
}

test("writePrivateFileAtomic: a missing directory is created 0700, the file is 0600, no temporary file is left", () => {
  withDirectory((directory) => {
    const state = join(directory, "state", "deeper");
    const path = join(state, "secret.json");
    writePrivateFileAtomic(path, Buffer.from("{}\n"));
    assert.equal(readFileSync(path, "utf8"), "{}\n");
    assert.equal(modeOf(path), 0o600);
    assert.equal(modeOf(state), 0o700);
    assert.equal(modeOf(join(directory, "state")), 0o700);
    assert.deepEqual(readdirSync(state), ["secret.json"]);
  });
});

test("writePrivateFileAtomic over a world-readable file leaves a 0600 one", () => {
  withDirectory((directory) => {
    const path = join(directory, "old.json");
    writeFileSync(path, "old");
    chmodSync(path, 0o644);
    writePrivateFileAtomic(path, Buffer.from("new"));
    assert.equal(readFileSync(path, "utf8"), "new");
    assert.equal(modeOf(path), 0o600);
  });
});

test("a failed rename (between write and rename) leaves the old content whole and no temporary file", () => {
  withDirectory((directory) => {
    const path = join(directory, "rabbit.flash");
    writePrivateFileAtomic(path, Buffer.from("old content"));
    let renamed = 0;
    const io: Partial<FileIo> = {
      rename: () => {
        renamed++;
        failing("EXDEV", "cross-device link not permitted")();
      },
    };
    assert.throws(() => writePrivateFileAtomic(path, Buffer.from("new content"), io), (error: unknown) => {
      assert.ok(error instanceof FileError);
      assert.match(error.message, new RegExp(`^cannot write ${path}: `));
      assert.equal(error.code, "EXDEV");
      return true;
    });
    assert.equal(renamed, 1, "the rename was reached: the new content had been written and flushed");
    assert.equal(readFileSync(path, "utf8"), "old content");
    assert.deepEqual(others(directory, "rabbit.flash"), []);
  });
});

test("a full disk (ENOSPC) or too many open files (EMFILE) is a clear error; the old file stays", () => {
  withDirectory((directory) => {
    const path = join(directory, "lab-accounts.json");
    writePrivateFileAtomic(path, Buffer.from("old"));
    assert.throws(() => writePrivateFileAtomic(path, Buffer.from("new"), { write: failing("ENOSPC", "no space") }), {
      message: `cannot write ${path}: no space left on device (ENOSPC)`,
    });
    assert.throws(() => writePrivateFileAtomic(path, Buffer.from("new"), { open: failing("EMFILE", "too many") }), {
      message: `cannot write ${path}: too many open files (EMFILE)`,
    });
    assert.equal(readFileSync(path, "utf8"), "old");
    assert.deepEqual(others(directory, "lab-accounts.json"), []);
  });
});

test("removeStaleTemps removes this file's leftovers only", () => {
  withDirectory((directory) => {
    const path = join(directory, "a.flash");
    for (const name of ["a.flash", "a.flash.tmp-123", "a.flash.tmp-456-0badcafe", "a.flash.other", "b.flash.tmp-1"]) {
      writeFileSync(join(directory, name), "x");
    }
    assert.deepEqual(removeStaleTemps(path).sort(), ["a.flash.tmp-123", "a.flash.tmp-456-0badcafe"]);
    assert.deepEqual(readdirSync(directory).sort(), ["a.flash", "a.flash.other", "b.flash.tmp-1"]);
    assert.deepEqual(removeStaleTemps(join(directory, "missing", "x")), [], "a missing directory is nothing to clean");
  });
});

test("readPrivateFile: missing, ok (a 0644 file of ours becomes 0600), too large and failed check moved aside, a directory unreadable", () => {
  withDirectory((directory) => {
    const path = join(directory, "f");
    assert.deepEqual(readPrivateFile(path, 10, () => undefined), { status: "missing" });
    writeFileSync(path, "12345");
    chmodSync(path, 0o644);
    const ok = readPrivateFile(path, 10, () => undefined);
    assert.equal(ok.status, "ok");
    assert.equal(ok.status === "ok" && ok.bytes.toString(), "12345");
    assert.equal(modeOf(path), 0o600);
    const large = readPrivateFile(path, 4, () => undefined);
    assert.equal(large.status, "corrupt");
    assert.ok(large.status === "corrupt");
    assert.match(large.message, /is corrupt \(5 bytes, more than the 4 such a file may hold\): kept as .*\.corrupt-/);
    assert.equal(existsSync(path), false, "moved, not copied");
    assert.equal(readFileSync(large.movedTo, "utf8"), "12345", "the corrupt copy is whole");
    writeFileSync(path, "bad");
    const checked = readPrivateFile(path, 10, (bytes) => (bytes.toString() === "bad" ? "it says bad" : undefined));
    assert.ok(checked.status === "corrupt");
    assert.notEqual(checked.movedTo, large.movedTo, "a second corrupt copy does not replace the first");
    assert.equal(readFileSync(large.movedTo, "utf8"), "12345");
    mkdirSync(path);
    assert.deepEqual(readPrivateFile(path, 10, () => undefined), { status: "unreadable", message: `cannot read ${path}: not a regular file` });
  });
});

test("flash file: 0600 in a 0700 directory it creates; stale temporary files removed at start", () => {
  withDirectory((directory) => {
    const home = join(directory, ".nabaztag");
    const path = join(home, "0019db01dbd7.flash");
    const flash = new Flash(path, undefined, { onProblem: (message) => assert.fail(message) });
    flash.setServerUrl("127.0.0.1:8080/vl");
    assert.equal(modeOf(path), 0o600);
    assert.equal(modeOf(home), 0o700);
    writeFileSync(`${path}.tmp-99999`, "half a sector");
    writeFileSync(`${path}.tmp-99999-0a0b0c0d`, "another");
    const again = new Flash(path);
    assert.equal(again.serverUrl(), "127.0.0.1:8080/vl");
    assert.deepEqual(readdirSync(home), ["0019db01dbd7.flash"]);
  });
});

test("a wrong-size flash file is kept aside with a message; the rabbit starts with an erased flash", () => {
  withDirectory((directory) => {
    const path = join(directory, "rabbit.flash");
    writeFileSync(path, Buffer.alloc(100, 0x41));
    const problems: string[] = [];
    const flash = new Flash(path, undefined, { onProblem: (message) => problems.push(message) });
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /rabbit\.flash is corrupt \(100 bytes, a flash sector holds 4096\): kept as .*rabbit\.flash\.corrupt-\S+; the rabbit starts with an erased flash$/);
    assert.equal(flash.startProblem, problems[0]);
    assert.ok(flash.bytes.every((b) => b === 0xff), "erased");
    const aside = readdirSync(directory).filter((name) => name.startsWith("rabbit.flash.corrupt-"));
    assert.equal(aside.length, 1);
    assert.deepEqual(readFileSync(join(directory, aside[0]!)), Buffer.alloc(100, 0x41));
    flash.setServerUrl("127.0.0.1:8080/vl");
    assert.equal(readFileSync(path).length, FLASH_SIZE);
    assert.equal(readdirSync(directory).length, 2, "the corrupt copy is still there beside the new file");
  });
});

test("a flash path that cannot be read is an Error to print, and nothing is replaced", () => {
  withDirectory((directory) => {
    const path = join(directory, "rabbit.flash");
    mkdirSync(path);
    assert.throws(() => new Flash(path), { message: `cannot read ${path}: not a regular file` });
    assert.equal(existsSync(path), true);
    writeFileSync(join(directory, "a-file"), "");
    const underFile = join(directory, "a-file", "rabbit.flash");
    assert.throws(() => new Flash(underFile), { message: `cannot read ${underFile}: a part of the path is not a directory (ENOTDIR)` });
  });
});

test("a failed flash write (full disk, a path under a file) never throws: memory keeps it, the failure is reported", () => {
  withDirectory((directory) => {
    const path = join(directory, "rabbit.flash");
    let diskFull = false;
    const problems: string[] = [];
    const io: Partial<FileIo> = {
      write: (fd, bytes, offset) => {
        if (diskFull) failing("ENOSPC", "no space")();
        return writeSync(fd, bytes, offset);
      },
    };
    const flash = new Flash(path, undefined, { onProblem: (message) => problems.push(message), io });
    flash.setServerUrl("127.0.0.1:8080/vl");
    assert.equal(flash.lastWriteError, undefined);
    diskFull = true;
    flash.setPassword("0123456789ab");
    assert.equal(flash.password(), "0123456789ab", "the module reads what it wrote");
    assert.equal(flash.lastWriteError, `cannot write ${path}: no space left on device (ENOSPC)`);
    assert.deepEqual(problems, [`cannot write ${path}: no space left on device (ENOSPC); the flash is kept in memory, the file keeps its older content`]);
    const onDisk = new Flash(path, undefined, { onProblem: (message) => assert.fail(`the file was damaged: ${message}`) });
    assert.equal(onDisk.password(), undefined, "the file has the older sector");
    assert.equal(onDisk.serverUrl(), "127.0.0.1:8080/vl", "whole: a write in place would have truncated it");
    diskFull = false;
    flash.setPassword("0123456789ab");
    assert.equal(flash.lastWriteError, undefined);
    assert.equal(new Flash(path).password(), "0123456789ab");

    const underFile = new Flash(join(directory, "a-file", "rabbit.flash"), undefined, { onProblem: (message) => problems.push(message) });
    // The directory is missing at start; a file takes its name before the first write.
    writeFileSync(join(directory, "a-file"), "");
    underFile.setServerUrl("127.0.0.1:8080/vl");
    assert.match(underFile.lastWriteError ?? "", /^cannot create the directory .*a-file: a file of that name is in the way \(EEXIST\)$/);
    assert.equal(underFile.serverUrl(), "127.0.0.1:8080/vl");
  });
});

test("accounts file: 0600, written atomically, read back", () => {
  withDirectory((directory) => {
    const path = join(directory, "state", "lab-accounts.json");
    const accounts = new Accounts(path, { onProblem: (message) => assert.fail(message) });
    assert.equal(accounts.register("0019db01dbd7", "3c01b0d27a1c"), true);
    assert.equal(modeOf(path), 0o600);
    assert.equal(modeOf(join(directory, "state")), 0o700);
    const again = new Accounts(path);
    assert.deepEqual(again.list(), ["0019db01dbd7"]);
    assert.equal(again.get("0019db01dbd7")?.registered, "3c01b0d27a1c");
  });
});

test("a corrupt accounts file (bad JSON, or any bad entry) is kept aside with a message; the lab starts empty", () => {
  const good = { password: "0123456789ab", registered: "0123456789ab", created: "2024-01-01T00:00:00.000Z" };
  const cases: [string, RegExp][] = [
    ["{ not json", /bad JSON/],
    ["[]", /not a JSON object/],
    [JSON.stringify({ "00:19:db:01:db:d7": good }), /is not a MAC/],
    [JSON.stringify({ "0019DB01DBD7": good }), /is not a MAC/],
    [JSON.stringify({ "0019db01dbd7": { ...good, password: 12 } }), /0019db01dbd7: password: not a string/],
    [JSON.stringify({ "0019db01dbd7": { ...good, password: "x".repeat(ACCOUNT_PASSWORD_CHARS_MAX + 1) } }), /password: 129 characters/],
    [JSON.stringify({ "0019db01dbd7": { ...good, registered: "a\nb" } }), /registered: a control character/],
    [JSON.stringify({ "0019db01dbd7": { ...good, admin: true } }), /unknown field "admin"/],
    [JSON.stringify({ "0019db01dbd7": null }), /not an object/],
    [JSON.stringify({ ["__proto__"]: good }), /is not a MAC/],
  ];
  for (const [content, expected] of cases) {
    withDirectory((directory) => {
      const path = join(directory, "lab-accounts.json");
      writeFileSync(path, content);
      const problems: string[] = [];
      const accounts = new Accounts(path, { onProblem: (message) => problems.push(message) });
      assert.equal(problems.length, 1, content);
      assert.match(problems[0]!, expected, content);
      assert.match(problems[0]!, /: kept as .*lab-accounts\.json\.corrupt-\S+; the lab starts with no accounts$/);
      assert.deepEqual(accounts.list(), []);
      assert.equal(existsSync(path), false, "not silently replaced");
      const aside = readdirSync(directory).filter((name) => name.startsWith("lab-accounts.json.corrupt-"));
      assert.equal(readFileSync(join(directory, aside[0]!), "utf8"), content);
      assert.equal(accounts.register("0019db01dbd7", "3c01b0d27a1c"), true, "the lab works on");
      assert.deepEqual(new Accounts(path).list(), ["0019db01dbd7"]);
    });
  }
  assert.equal(typeof parseAccounts(Buffer.from(JSON.stringify({ "0019db01dbd7": good }))), "object");
});

test("registrations the loader would refuse are refused, and a failed accounts write never throws", () => {
  withDirectory((directory) => {
    const path = join(directory, "lab-accounts.json");
    let diskFull = false;
    const problems: string[] = [];
    const accounts = new Accounts(path, {
      onProblem: (message) => problems.push(message),
      io: { open: (file, flags, mode) => (diskFull ? failing("ENOSPC", "no space")() : openSync(file, flags, mode)) },
    });
    assert.equal(accounts.register("not-a-mac", "0123456789ab"), false);
    assert.equal(accounts.register("0019db01dbd7", ""), false);
    assert.equal(accounts.register("0019db01dbd7", "x".repeat(ACCOUNT_PASSWORD_CHARS_MAX + 1)), false);
    assert.equal(accounts.register("0019db01dbd7", "a\u0000b"), false);
    assert.equal(existsSync(path), false, "nothing was written");
    assert.equal(accounts.register("0019db01dbd7", "3c01b0d27a1c"), true);
    diskFull = true;
    assert.equal(accounts.register("0019db000002", "3c01b0d27a1c"), true, "registered in memory");
    assert.deepEqual(accounts.list(), ["0019db01dbd7", "0019db000002"]);
    assert.equal(accounts.lastWriteError, `cannot write ${path}: no space left on device (ENOSPC)`);
    assert.match(problems[0] ?? "", /; the accounts are kept in memory, the file keeps its older content$/);
    assert.deepEqual(new Accounts(path).list(), ["0019db01dbd7"], "the file has the older content");
  });
});
