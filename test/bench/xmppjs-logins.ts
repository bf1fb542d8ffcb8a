// xmpp.js logging in to an XMPP server, many clients at once: what a standard client's login (SASL and resource
// binding) costs in CPU, for the benchmark to set beside the rabbit's. Run as a child process:
//
//   node build/test/bench/xmppjs-logins.js --service xmpp://127.0.0.1:5222 --domain localhost \
//     --mechanism SCRAM-SHA-1|PLAIN [--timeout MS] [USER:PASSWORD ...]
//
// The pairs come from the arguments or, when there are none, from stdin, one a line (split at the first ":"). Every
// client starts at once; when all are online, or the timeout passed, it prints one JSON line:
//
//   {"clients":N,"mechanism":"M","cpuMs":N,"cpuMsPerLogin":N,"wallMs":N,"failures":N}
//
// cpuMs is process.cpuUsage() (user + system) from the creation of the first client to the last login, after every
// module is loaded; cpuMsPerLogin divides it by the logins that succeeded. xmpp.js as it comes: its default client
// (reconnect, stream features, SASL, resource binding), no middleware added, and its own choice of mechanism for
// SCRAM-SHA-1. PLAIN it does not choose on a connection without TLS (@xmpp/client's lib/createOnAuthenticate.js), so
// for PLAIN the mechanism is named through its documented `credentials` callback. Exit status 0 when every client
// came online, 1 otherwise, 2 on bad usage.

import { client, type XmppClient } from "@xmpp/client";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";

/** What xmpp.js 0.14 can log in with (it has no DIGEST-MD5). */
const MECHANISMS = ["SCRAM-SHA-1", "PLAIN"];
/** How long every client has to come online, unless --timeout says otherwise. */
const LOGINS_TIMEOUT_MS = 120_000;
/** Clients at most (what stdin can make this open). */
const CLIENTS_MAX = 20_000;
/** Bytes read from stdin at most. */
const STDIN_BYTES_MAX = 4 * 1024 * 1024;
/** How long the clients may take to close their streams before the process ends anyway. */
const STOP_TIMEOUT_MS = 5_000;

interface Pair {
  username: string;
  password: string;
}

interface Options {
  service: string;
  domain: string;
  mechanism: string;
  timeoutMs: number;
  pairs: Pair[];
}

function usage(message: string): never {
  process.stderr.write(`xmppjs-logins: ${message}\n`);
  process.exit(2);
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return "";
  let text = "";
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.length > STDIN_BYTES_MAX) usage(`more than ${STDIN_BYTES_MAX} bytes on stdin`);
  }
  return text;
}

function parsePairs(words: string[]): Pair[] {
  if (words.length > CLIENTS_MAX) usage(`more than ${CLIENTS_MAX} clients`);
  return words.map((word) => {
    const colon = word.indexOf(":");
    if (colon <= 0 || colon === word.length - 1) usage(`not USER:PASSWORD: ${JSON.stringify(word.slice(0, 40))}`);
    return { username: word.slice(0, colon), password: word.slice(colon + 1) };
  });
}

async function readOptions(): Promise<Options> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { service: { type: "string" }, domain: { type: "string" }, mechanism: { type: "string" }, timeout: { type: "string" } },
  });
  if (!values.service?.startsWith("xmpp://")) usage("--service xmpp://HOST:PORT is needed");
  if (!values.domain) usage("--domain is needed");
  const mechanism = values.mechanism ?? "";
  if (!MECHANISMS.includes(mechanism)) usage(`--mechanism is ${MECHANISMS.join(" or ")}`);
  const timeoutMs = values.timeout === undefined ? LOGINS_TIMEOUT_MS : Number(values.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) usage("--timeout takes milliseconds");
  const words = positionals.length > 0 ? positionals : (await readStdin()).split(/\s+/).filter(Boolean);
  const pairs = parsePairs(words);
  if (pairs.length === 0) usage("no USER:PASSWORD pair, in the arguments or on stdin");
  return { service: values.service, domain: values.domain, mechanism, timeoutMs, pairs };
}

/** One client, started: its promise says whether it came online (an error is a failure, reported once on stderr). */
function startClient(options: Options, pair: Pair, report: (error: Error) => void): { xmpp: XmppClient; online: Promise<boolean> } {
  const { service, domain, mechanism } = options;
  const xmpp = client({
    service,
    domain,
    username: pair.username,
    password: pair.password,
    ...(mechanism === "PLAIN"
      ? {
          credentials: (authenticate, offered) =>
            offered.includes(mechanism) ? authenticate(pair, mechanism) : Promise.reject(new Error(`${mechanism} is not offered (${offered.join(", ")})`)),
        }
      : {}),
  });
  xmpp.on("error", report);
  const online = xmpp.start().then(() => true, (error: Error) => {
    report(error);
    return false;
  });
  return { xmpp, online };
}

async function main(): Promise<number> {
  const options = await readOptions();
  let firstError: string | undefined;
  const report = (error: Error) => (firstError ??= error.message);
  let deadline: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (deadline = setTimeout(() => resolve(false), options.timeoutMs)));

  const wallStart = performance.now();
  const cpuStart = process.cpuUsage();
  const clients = options.pairs.map((pair) => startClient(options, pair, report));
  const results = await Promise.all(clients.map(({ online }) => Promise.race([online, late])));
  const cpu = process.cpuUsage(cpuStart);
  const wallMs = performance.now() - wallStart;
  clearTimeout(deadline);

  const logins = results.filter(Boolean).length;
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const round = (value: number) => Math.round(value * 1000) / 1000;
  const line = { clients: clients.length, mechanism: options.mechanism, cpuMs: round(cpuMs), cpuMsPerLogin: round(cpuMs / Math.max(1, logins)), wallMs: round(wallMs), failures: clients.length - logins };
  process.stdout.write(`${JSON.stringify(line)}\n`);
  if (firstError !== undefined) process.stderr.write(`xmppjs-logins: first error: ${firstError}\n`);

  // Close the streams (the server sees clean logouts), within a bound.
  const stopped = Promise.all(clients.map(({ xmpp }) => xmpp.stop().catch(() => undefined)));
  await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, STOP_TIMEOUT_MS).unref())]);
  return line.failures === 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (error: Error) => {
  process.stderr.write(`xmppjs-logins: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
