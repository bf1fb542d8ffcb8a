// Helpers for the real servers the integration tests run against: a free port, a throw-away directory the server's
// own user can use, waiting for a line of output, and killing what a server leaves behind.

import { execFileSync, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * The Debian packages run their servers as their own users, which takes root: as root a command runs as is,
 * otherwise through `sudo -n` (it fails at once, with sudo's message, where that is not allowed).
 */
export function asRoot(command: string, args: string[]): [string, string[]] {
  return userInfo().uid === 0 ? [command, args] : ["sudo", ["-n", command, ...args]];
}

/** A fresh directory for a server's configuration, data and logs. */
export function serverDirectory(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Gives `directory` and everything in it to `user` (after the test wrote its configuration there). */
export function giveTo(directory: string, user: string): void {
  execFileSync(...asRoot("chown", ["-R", `${user}:${user}`, directory]));
}

/** Removes a server's directory (its files are the server user's). */
export function removeDirectory(directory: string): void {
  execFileSync(...asRoot("rm", ["-rf", "--", directory]));
}

/** Resolves when the process prints a line matching `pattern` (stdout or stderr); rejects if it exits or times out. */
export function waitForOutput(child: ChildProcess, pattern: RegExp, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => finish(new Error(`${what}: not ready within ${ms} ms; output:\n${output.slice(-3000)}`)), ms);
    const onData = (data: Buffer) => {
      output += data.toString("utf8");
      if (pattern.test(output)) finish();
    };
    const onExit = (code: number | null) => finish(new Error(`${what} exited (${code}) before it was ready; output:\n${output.slice(-3000)}`));
    function finish(error?: Error) {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.stderr?.off("data", onData);
      child.off("exit", onExit);
      if (error) reject(error);
      else resolve();
    }
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", onExit);
  });
}

/** PIDs of running processes whose command line matches (from /proc). */
export function pidsOf(pattern: RegExp): number[] {
  const out: number[] = [];
  for (const line of execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" }).split("\n")) {
    const match = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (match && pattern.test(match[2]!)) out.push(Number(match[1]));
  }
  return out;
}

/** Signals a process (a negative PID: its group); one of the server's user's goes through asRoot. Gone is fine. */
export function killQuietly(pid: number, signal: NodeJS.Signals = "SIGTERM"): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return;
    try {
      execFileSync(...asRoot("kill", [`-${signal.replace(/^SIG/, "")}`, "--", String(pid)]), { stdio: "ignore" });
    } catch {
      // Gone meanwhile.
    }
  }
}
