#!/usr/bin/env node
// The nabaztag-vm command line.

import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { existsSync } from "node:fs";
import { replayFile } from "./replay.js";
import { selfcheck } from "./selfcheck.js";

const SEED_LOG = fileURLToPath(new URL("../../reference/seed/nabaztag-openfire-debug.log", import.meta.url));

const USAGE = `nabaztag-vm: a virtual Nabaztag:tag v2 rabbit

Usage:
  nabaztag-vm replay LOG [options]
      Plays the RECEIVE blocks of a debug log in the seed's format as the server, in virtual time, and checks every
      SEND, every HTTP request and every [vm] line the rabbit produces against the log, in order. Prints a diff on
      a mismatch.
        --profile firmware|standard   behaviour profile (default firmware)
        --mac MAC                     the rabbit's MAC address (default f8:1e:df:ee:27:c1)
        --domain D                    xmpp_domain that locate.jsp names (default almacska)
        --ping-server HOST:PORT       "ping" that locate.jsp names (default D:3000)
        --flash-password PW           password in flash at boot (12 hex digits; default none)
        --rng-state N                 the VM generator's state at boot, instead of srand(boot time)
        --time K=MS                   deliver the K-th RECEIVE block (1-based) at MS ms after boot; repeatable.
                                      Blocks without a time come as soon as the rabbit waits for them.
        --transcript                  print everything that happened, with virtual times
  nabaztag-vm selfcheck [LOG]
      Loads the module, tokenizes and dumps the server messages of a debug log (default: the seed log) and compares
      the dumps with the log's.
  nabaztag-vm --help

Exit status: 0 success, 1 a check failed (replay: the rabbit differs from the log), 2 bad usage or input.
`;

function fail(message: string): never {
  throw new UsageError(message);
}

class UsageError extends Error {}

function replayCommand(args: string[]): number {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      profile: { type: "string" },
      mac: { type: "string" },
      domain: { type: "string" },
      "ping-server": { type: "string" },
      "flash-password": { type: "string" },
      "rng-state": { type: "string" },
      time: { type: "string", multiple: true },
      transcript: { type: "boolean" },
    },
  });
  const [log] = positionals;
  if (!log) fail("replay needs a LOG");
  if (!existsSync(log)) fail(`no such file: ${log}`);
  const profile = values.profile ?? "firmware";
  if (profile !== "firmware" && profile !== "standard") fail(`--profile is firmware or standard, not ${profile}`);
  const times = new Map<number, number>();
  for (const time of values.time ?? []) {
    const match = /^(\d+)=(\d+)$/.exec(time);
    if (!match) fail(`--time takes K=MS, not ${time}`);
    times.set(Number(match[1]), Number(match[2]));
  }
  const rngState = values["rng-state"];
  if (rngState !== undefined && !/^-?\d+$/.test(rngState)) fail(`--rng-state takes an integer, not ${rngState}`);
  const password = values["flash-password"];
  if (password !== undefined && !/^[0-9a-f]{12}$/.test(password)) fail("--flash-password takes 12 lowercase hex digits");
  const result = replayFile(log, {
    profile,
    mac: values.mac,
    domain: values.domain,
    pingServer: values["ping-server"],
    flashPassword: password,
    rngState: rngState === undefined ? undefined : Number(rngState),
    times,
  });
  if (values.transcript) for (const line of result.transcript) process.stdout.write(line + "\n");
  if (result.ok) {
    process.stdout.write(`replay: OK, ${result.matched} of ${result.expected} log entries matched\n`);
    return 0;
  }
  process.stdout.write(`replay: the rabbit differs from the log (${result.matched} of ${result.expected} entries matched)\n`);
  for (const error of result.errors) process.stdout.write(`  ${error}\n`);
  return 1;
}

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  switch (command) {
    case "replay":
      return replayCommand(rest);
    case "selfcheck":
      return selfcheck(rest[0] ?? SEED_LOG, (line) => process.stdout.write(line + "\n")) ? 0 : 1;
    default:
      process.stderr.write(`nabaztag-vm: unknown command '${command}'\n\n${USAGE}`);
      return 2;
  }
}

// A closed pipe (e.g. `| head`) ends the output quietly.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`nabaztag-vm: ${error instanceof Error ? error.message : String(error)}\n`);
  if (!(error instanceof UsageError) && !(error instanceof TypeError && String(error).includes("parseArgs"))) {
    // Anything but a usage error is a bug: keep its stack.
    if (error instanceof Error && error.stack) process.stderr.write(error.stack + "\n");
  }
  process.exitCode = 2;
}
