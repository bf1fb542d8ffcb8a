#!/usr/bin/env node
// The nabaztag-vm command line.

import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { selfcheck } from "./selfcheck.js";

const SEED_LOG = fileURLToPath(new URL("../../reference/seed/nabaztag-openfire-debug.log", import.meta.url));

const USAGE = `nabaztag-vm: a virtual Nabaztag:tag v2 rabbit

Usage:
  nabaztag-vm selfcheck [LOG]   load the module, tokenize and dump the server messages of a debug log in the seed's
                                format (default: the seed log) and compare the dumps with the log's
  nabaztag-vm --help

Exit status: 0 success, 1 a check failed, 2 bad usage.
`;

function main(argv: string[]): number {
  const { positionals, values } = parseArgs({ args: argv, allowPositionals: true, options: { help: { type: "boolean", short: "h" } } });
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === "help") {
    process.stdout.write(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }
  switch (command) {
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
  process.exitCode = 2;
}
