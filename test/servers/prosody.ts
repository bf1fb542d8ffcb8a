// Debian's Prosody (0.12) as a test peer: started in the foreground on loopback with a throw-away configuration and
// data directory (platform.md §4.2: in-band registration on, no encryption required, plain password storage), and
// stopped by SIGTERM to its PID. Without TLS it offers SCRAM-SHA-256 and SCRAM-SHA-1 only: no DIGEST-MD5, no PLAIN.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { asRoot, freePort, giveTo, killQuietly, removeDirectory, serverDirectory } from "./common.js";

export interface Prosody {
  host: string;
  port: number;
  stop(): Promise<void>;
}

export async function startProsody(host = "almacska"): Promise<Prosody> {
  const port = await freePort();
  const directory = serverDirectory("nabaztag-prosody-");
  const config = join(directory, "prosody.cfg.lua");
  writeFileSync(config, `pidfile = "${join(directory, "prosody.pid")}"; data_path = "${join(directory, "data")}"; daemonize = false
interfaces = { "127.0.0.1" }; c2s_ports = { ${port} }; s2s_ports = { }; http_ports = { }; https_ports = { }
c2s_require_encryption = false; s2s_require_encryption = false
allow_registration = true; authentication = "internal_plain"
log = { debug = "${join(directory, "prosody.log")}" }
modules_enabled = { "roster", "saslauth", "disco", "ping", "register", "posix" }
modules_disabled = { "s2s", "tls" }
VirtualHost "${host}"
`);
  mkdirSync(join(directory, "data"));
  giveTo(directory, "prosody");
  const child: ChildProcess = spawn(...asRoot("runuser", ["-u", "prosody", "--", "prosody", "--config", config, "-F"]), {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout!.on("data", (data: Buffer) => (output += data.toString("utf8")));
  child.stderr!.on("data", (data: Buffer) => (output += data.toString("utf8")));
  try {
    await listening(port, child, 30_000);
  } catch (error) {
    killQuietly(-child.pid!, "SIGKILL");
    removeDirectory(directory);
    throw new Error(`prosody: ${(error as Error).message}; output:\n${output.slice(-3000)}`);
  }
  return {
    host,
    port,
    async stop() {
      killQuietly(-child.pid!, "SIGTERM");
      await new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve(undefined);
        child.once("exit", resolve);
        setTimeout(resolve, 10_000).unref();
      });
      killQuietly(-child.pid!, "SIGKILL");
      removeDirectory(directory);
    },
  };
}

/** Resolves once the port takes connections; rejects if the process exits first or the time runs out. */
async function listening(port: number, child: ChildProcess, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited (${child.exitCode}) before listening`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`not listening on ${port} within ${ms} ms`);
}
