// Debian's ejabberd (23.01) as a test peer: started in the foreground on loopback with a throw-away configuration,
// spool and log directory (platform.md §4.1: plain password storage, DIGEST-MD5 not disabled, in-band registration
// open, no STARTTLS), stopped by its own ejabberdctl and, for the epmd it leaves running, by PID.

import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { asRoot, freePort, giveTo, killQuietly, pidsOf, removeDirectory, serverDirectory, waitForOutput } from "./common.js";

const run = promisify(execFile);
export const EJABBERDCTL = "/usr/sbin/ejabberdctl";

export interface Ejabberd {
  host: string;
  port: number;
  /** Runs an ejabberdctl command against this node (register, unregister, change_password, kick_session, ...). */
  ctl(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

export async function startEjabberd(host = "almacska"): Promise<Ejabberd> {
  const port = await freePort();
  const directory = serverDirectory("nabaztag-ejabberd-");
  const node = `nabaztag${process.pid}@localhost`;
  const config = join(directory, "ejabberd.yml");
  const ctlConfig = join(directory, "ejabberdctl.cfg");
  writeFileSync(config, `loglevel: info
hosts: [${host}]
listen:
  - {port: ${port}, ip: "127.0.0.1", module: ejabberd_c2s, starttls: false, starttls_required: false, access: c2s, max_stanza_size: 262144}
auth_method: internal
auth_password_format: plain
disable_sasl_mechanisms: []
registration_timeout: infinity
negotiation_timeout: 120
acl: {local: {user_regexp: ""}}
access_rules: {c2s: {allow: all}, register: {allow: all}}
shaper_rules: {max_user_sessions: 10}
modules:
  mod_admin_extra: {}
  mod_disco: {}
  mod_ping: {}
  mod_roster: {}
  mod_register: {access: register, ip_access: all, welcome_message: {}}
  mod_stream_mgmt: {}
`);
  writeFileSync(ctlConfig, `INET_DIST_INTERFACE=127.0.0.1
ERL_EPMD_ADDRESS=127.0.0.1
EJABBERD_PID_PATH=${join(directory, "ejabberd.pid")}
ERL_OPTIONS="-env ERL_CRASH_DUMP_BYTES 0"
`);
  for (const sub of ["log", "db"]) mkdirSync(join(directory, sub));
  giveTo(directory, "ejabberd");
  const epmdBefore = new Set(pidsOf(/epmd/));
  const base = ["--ctl-config", ctlConfig, "--node", node];
  const child: ChildProcess = spawn(...asRoot(EJABBERDCTL, ["--config", config, ...base, "--logs", join(directory, "log"), "--spool", join(directory, "db"), "foreground"]), {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  try {
    await waitForOutput(child, new RegExp(`Start accepting TCP connections at 127\\.0\\.0\\.1:${port}`), 60_000, "ejabberd");
    // The node takes commands a moment after it listens: ask its status until it answers (20 tries, 250 ms apart).
    for (let attempt = 1; ; attempt++) {
      const answered = await run(...asRoot(EJABBERDCTL, [...base, "status"])).then(() => true, () => false);
      if (answered) break;
      if (attempt >= 20) throw new Error("ejabberd listens but its node does not answer ejabberdctl status");
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } catch (error) {
    killQuietly(-child.pid!, "SIGKILL");
    throw error;
  }
  return {
    host,
    port,
    async ctl(...args: string[]) {
      const { stdout } = await run(...asRoot(EJABBERDCTL, [...base, ...args]));
      return stdout;
    },
    async stop() {
      await run(...asRoot(EJABBERDCTL, [...base, "stop"])).catch(() => undefined);
      await new Promise((resolve) => {
        if (child.exitCode !== null) resolve(undefined);
        child.once("exit", resolve);
        setTimeout(resolve, 10_000).unref();
      });
      killQuietly(-child.pid!, "SIGKILL");
      for (const pid of pidsOf(/epmd/)) if (!epmdBefore.has(pid)) killQuietly(pid);
      removeDirectory(directory);
    },
  };
}
