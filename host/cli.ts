#!/usr/bin/env node
// The nabaztag-vm command line.

import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { hexXor } from "./lab/accounts.js";
import { isIP } from "node:net";
import type { LabHttpEvent } from "./lab/http-server.js";
import { describeLabEvent, isLoopback, startLab, type Lab, type LabOptions } from "./lab/lab.js";
import { mechanismsProblem, type LabSaslMechanism } from "./lab/sasl.js";
import { LAB_DIALECTS, type LabDialect, type LabEvent } from "./lab/xmpp-server.js";
import { dnsNameProblem } from "./vm/dns.js";
import { FailureDiagnosis } from "./diagnose.js";
import { observe, type RabbitEvent } from "./observe.js";
import { QUIRK_NAMES, quirkIndex, type Profile, type QuirkName, type QuirkSettings } from "./quirks.js";
import { combineListeners, parseMac, type RabbitListener, type RegistrationForm } from "./rabbit.js";
import { replayFile } from "./replay.js";
import { flashUrl, runRabbit, type RunningRabbit } from "./run.js";
import { selfcheck } from "./selfcheck.js";
import { FAULT_KINDS, type FaultKind } from "./sim/plan.js";
import { SEED_MAX, SIM_SEEDS_MAX, SIM_WORKERS_MAX, simCommand } from "./sim/sim.js";
import { PLANTED_BUGS, type PlantedBug } from "./sim/world.js";
import { fleetCommand, fleetMergeCommand } from "./fleet/command.js";
import { fail, parseBuild, parseCount, parseProfile, parseRegistration, parseSasl, UsageError } from "./usage.js";
import { RabbitPage } from "./web/page.js";

const SEED_LOG = fileURLToPath(new URL("../../reference/seed/nabaztag-openfire-debug.log", import.meta.url));
/** Where `start` and `run` keep state (flash files, the lab's accounts): $NABAZTAG_HOME, or .nabaztag/ here. */
const HOME = process.env.NABAZTAG_HOME ?? ".nabaztag";

/** Each command's usage, shown by `nabaztag-vm COMMAND --help`; all of them by `--help`. */
const COMMAND_USAGE: Record<string, string> = {
  start: `  nabaztag-vm start [--mac MAC] [--profile P] [--registration FORM] [--dialect D] [--web PORT | --no-web] [--json]
      The main job (npm start): the embedded lab platform on loopback and one rabbit against it, in real time,
      until Ctrl-C. State is kept in .nabaztag/ (the lab's accounts and API token, the rabbit's flash; files 0600 in
      a 0700 directory). Options as for run and lab.
        --web PORT              the rabbit's web page on 127.0.0.1:PORT, with the lab's side (default: on, any free
                                port; its URL is printed as [web] http://127.0.0.1:PORT/)
        --no-web                no web page
`,
  run: `  nabaztag-vm run --platform URL [options]
      One rabbit against a platform, in real time, until Ctrl-C.
        --platform URL          the Violet-platform URL the rabbit is configured with (e.g. http://host:port/vl);
                                it calls locate.jsp there. Kept in the flash: later runs may leave it out.
        --mac MAC               the rabbit's MAC address (default 00:19:db:01:db:d7)
        --profile P             firmware (bug-for-bug rev 18673, the default) or standard (RFC-correct)
        --quirk NAME=on|off     one quirk on top of the profile; repeatable (names: --help-quirks)
        --sasl MECHANISM        use SCRAM-SHA-1, DIGEST-MD5 or PLAIN whatever the server offers (default: the
                                firmware asks for DIGEST-MD5; standard takes SCRAM-SHA-1, then DIGEST-MD5, then
                                PLAIN from the offer)
        --registration FORM     how the rabbit registers: stock (rev 18673 as shipped: violet:iq:register; what
                                OpenJabNab accepts; the firmware profile's default), binary (the published 18673
                                binary: jabber:iq:register, XEP-0077; the standard profile's default) or seed (the
                                seed log's patched build: jabber:iq:register with <name> and <email>)
        --build B               the module: device (the default for a firmware rabbit with the firmware's quirks:
                                what a real rabbit runs, in one 64 KiB page, with its buffers: a stanza over 3 KiB
                                or with over 2 KiB of text is the firmware's out-of-memory reboot, a packet over 1 KiB
                                is rejected) or release
                                (the full build: stanzas up to 16 KiB, packets up to 8 KiB)
        --flash FILE            the rabbit's 4 KB flash (default .nabaztag/MAC.flash; created on first run;
                                $NABAZTAG_HOME replaces .nabaztag/ everywhere)
        --xmpp-port N           connect to N where the rabbit asks for port 5222
        --resolve NAME=IP       answer DNS for NAME with IP; repeatable
        --json                  one JSON event per line (each has an "event" field) instead of the [vm] log
        --verbose               also show the bytes on the connection
        --show-secrets          show the password where it appears (masked by default)
        --web PORT              a live web page of the rabbit on 127.0.0.1:PORT (0: any free port): its LEDs, ears,
                                state, stanzas; buttons to click and turn the ears
      Keys (on a terminal): b click, d double click, e move the ears, q quit.
      Signals: SIGUSR1 click, SIGUSR2 move the ears, SIGINT/SIGTERM stop.
`,
  lab: `  nabaztag-vm lab [--http-port N] [--xmpp-port N] [--domain D] [--accounts FILE] [--dialect D] [--bind ADDRESS]
                  [--mechanisms LIST] [--token-file FILE] [--json]
      The lab platform alone (defaults: HTTP 8080, XMPP 5222, domain localhost, accounts in memory), until Ctrl-C.
        --dialect D             tolerant (the default: every registration form and SASL variant; it says where a
                                strict platform would refuse) or openjabnab (exactly what OpenJabNab accepts, and
                                its failures: a stream closed on any unexpected step)
        --mechanisms LIST       the SASL mechanisms the tolerant dialect offers, in order, comma-separated, from
                                SCRAM-SHA-1, DIGEST-MD5 and PLAIN (default DIGEST-MD5, the firmware's)
        --bind ADDRESS          listen there instead of 127.0.0.1 (a warning: the lab has no TLS)
        --token-file FILE       where the API token goes, mode 0600 (default .nabaztag/lab-token)
        --json                  lab events as JSON lines (the first one carries the token)
      API: GET /lab; POST /lab/rabbits/MAC/ambient?left=N&right=N&nose=N, /sleep, /wake, /reboot,
      /packet?base64=B64, each with the header "Authorization: Bearer TOKEN" (the token is printed at start).
      For demos and tests on loopback: not a production server.
`,
  replay: `  nabaztag-vm replay LOG [options]
      Plays the RECEIVE blocks of a debug log in the seed's format as the server, in virtual time, and checks every
      SEND, every HTTP request and every [vm] line the rabbit produces against the log, in order; prints a diff on a
      mismatch.
        --profile firmware|standard   behaviour profile (default firmware)
        --mac MAC                     the rabbit's MAC address (default f8:1e:df:ee:27:c1)
        --domain D                    xmpp_domain that locate.jsp names (default almacska)
        --ping-server HOST:PORT       "ping" that locate.jsp names (default D:3000)
        --flash-password PW           password in flash at boot (12 hex digits; default none)
        --rng-state N                 the VM generator's state at boot, instead of srand(boot time)
        --time K=MS                   deliver the K-th RECEIVE block (1-based) at MS ms after boot; repeatable.
                                      Blocks without a time come as soon as the rabbit waits for them.
        --registration FORM           stock, binary or seed (default: the form the log's SEND blocks show; the
                                      seed log shows seed)
        --transcript                  print everything that happened, with virtual times
`,
  sim: `  nabaztag-vm sim [--seeds N] [--first S] [--seed S [--trace]] [--profile P] [--faults LIST] [--workers N] [--json]
      The simulator: seed by seed, a rabbit and the lab on a virtual network, in virtual time, with faults drawn from
      the seed (latency, split and partial writes, dropped and reset connections, refused connects, lab restarts,
      HTTP and DNS failures, duplicate pushes, clock jumps, power cuts during flash writes). After every step it
      checks the invariants: no trap, no silent stall, online within 300 s of the last fault, flash old or new,
      no secret in logs, well-formed stanzas, accounts consistent, memory fixed. Same seed, same run.
        --seeds N               how many seeds (default 1000), from --first (default 1)
        --seed S                one seed; with --trace, everything that happened in it
        --profile P             only firmware or only standard rabbits (default: both, drawn from the seed)
        --faults LIST           a comma-separated subset of the faults (names: latency, split, partial, drop, reset,
                                refuse, restart, http, dns, duplicate, clock, power)
        --workers N             worker threads (default: one per core)
        --debug                 the debug module (assertions on; slower)
        --plant BUG             a bug planted on purpose, to see the simulator find it: no-reconnect, flash-in-place
        --json                  failures and the summary as JSON lines
      Exit status 1 when any seed breaks an invariant; each failure prints the command that replays it.
`,
  fleet: `  nabaztag-vm fleet [--count N] [--platform URL] [--ramp RATE] [--duration S] [--workers N] [--report FILE] [--json]
  nabaztag-vm fleet merge REPORT.json... [--report FILE]
      Many rabbits against one platform, to see how it holds up (a power cut in a city, a server restart): the
      embedded lab in a process of its own unless --platform names another; the rabbits over worker processes. On a
      terminal a progress line; at the end the report: time until all were online, login latency percentiles,
      locate.jsp and XMPP failures by reason, reconnects, CPU per login, RSS per rabbit.
        --count N               rabbits in this process (default 100; at most 200000)
        --platform URL          the platform (default: the fleet's own lab on loopback)
        --profile P             firmware (default) or standard; --registration FORM as for run
        --ramp RATE             rabbits started per second (default: all at once, like a power cut)
        --duration S            run S seconds, then stop (default: until all are online; --timeout S, default 600)
        --mac-base MAC          the first rabbit's MAC; rabbit i has MAC-BASE + i (default 00:19:db:10:00:00)
        --shard K/N             this is shard K (0..N-1) of N fleet processes: its rabbits start at MAC-BASE + K × COUNT
        --flash-dir DIR         each rabbit's flash as DIR/MAC.flash (default: in memory)
        --registered            rabbits that registered long ago: each flash holds the password SHA-1("nabaztag-vm
                                fleet " + MAC), first 12 hex digits; the fleet's own lab knows them (a server restart)
        --sasl MECHANISM        every rabbit uses SCRAM-SHA-1, DIGEST-MD5 or PLAIN
        --build B               the module every rabbit runs: device (the default for firmware rabbits with the
                                firmware's quirks, as for run) or release
        --web PORT              a live page on 127.0.0.1:PORT (0: any free port): counts by state, the online chart
        --workers N             worker processes (default: one per core)
        --report FILE           the report as JSON, and its online-over-time chart as FILE with .svg
        --json                  progress and the report as JSON lines
      fleet merge sums the reports of several shards (checks that they are fleet reports of different shards).
`,
  selfcheck: `  nabaztag-vm selfcheck [LOG]
      Loads the module, tokenizes and dumps the server messages of a debug log (default: the seed log) and compares
      the dumps with the log's.
`,
};

const USAGE_END = `  nabaztag-vm --help | --help-quirks | --version | COMMAND --help

Exit status: 0 success (run, start, lab: stopped by Ctrl-C or a signal); 1 a check failed or the rabbit could not
run (replay: the rabbit differs from the log); 2 bad usage or input.
`;

const USAGE = `nabaztag-vm: a virtual Nabaztag:tag v2 rabbit

Usage:
${Object.values(COMMAND_USAGE).join("\n")}
${USAGE_END}`;

const out = (line: string) => process.stdout.write(line + "\n");

function parseQuirks(values: string[] | undefined): QuirkSettings {
  const settings: QuirkSettings = {};
  for (const value of values ?? []) {
    const match = /^([a-z0-9-]+)=(on|off)$/.exec(value);
    if (!match) fail(`--quirk takes NAME=on or NAME=off, not ${value}`);
    try {
      quirkIndex(match[1]!);
    } catch (error) {
      fail((error as Error).message);
    }
    settings[match[1] as QuirkName] = match[2] === "on";
  }
  return settings;
}

function parseDialect(value: string | undefined): LabDialect {
  if (value === undefined) return "tolerant";
  const dialect = LAB_DIALECTS.find((name) => name === value);
  if (!dialect) fail(`--dialect is ${LAB_DIALECTS.join(" or ")}, not ${value}`);
  return dialect;
}

/** --mechanisms: a comma-separated list of the lab's SASL mechanisms (sasl.ts), for the tolerant dialect. */
function parseMechanisms(value: string | undefined, dialect: LabDialect): LabSaslMechanism[] | undefined {
  if (value === undefined) return undefined;
  if (dialect !== "tolerant") fail("--mechanisms is for the tolerant dialect (openjabnab offers what OpenJabNab offers)");
  const list = value.split(",").map((name) => name.trim().toUpperCase());
  const problem = mechanismsProblem(list);
  if (problem) fail(`--mechanisms: ${problem}`);
  return list as LabSaslMechanism[];
}

/** The observer, and the failure-loop watcher beside it (diagnose.ts), as one listener. */
function watched(listener: RabbitListener & { emit(event: RabbitEvent): void }, profile: Profile, registration: RegistrationForm, json: boolean): RabbitListener {
  const diagnosis = new FailureDiagnosis({
    profile,
    registration,
    report: (found) => {
      if (json) listener.emit({ event: "diagnosis", cause: found.cause, count: found.count, message: found.message });
      else out(`[host] the same failure ${found.count} times in a row: ${found.message}`);
    },
  });
  return combineListeners(listener, diagnosis);
}

function parsePort(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) > 65535) fail(`${name} takes a port number, not ${value}`);
  return Number(value);
}

function checkedMac(value: string | undefined): string {
  const mac = value ?? "00:19:db:01:db:d7";
  try {
    return Buffer.from(parseMac(mac)).toString("hex");
  } catch (error) {
    fail((error as Error).message);
  }
}

/** Keys on a terminal, and signals, act on the rabbit; Ctrl-C, q, SIGINT and SIGTERM stop. */
function controls(running: () => RunningRabbit | undefined, stopRabbit: () => void): void {
  // The process lives until it is stopped, as the rabbit does: an idle rabbit (nothing due, no connection: e.g. after a
  // locate.jsp without xmpp_domain) holds no timer or socket that would keep Node's event loop alive.
  const alive = setInterval(() => undefined, 1 << 30);
  const stop = () => {
    clearInterval(alive);
    stopRabbit();
  };
  let ears = 0;
  const moveEars = () => {
    ears = (ears + 4) % 17;
    running()?.rabbit.ears(ears, 16 - ears);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  process.on("SIGUSR1", () => running()?.rabbit.button(1));
  process.on("SIGUSR2", moveEars);
  if (process.stdin.isTTY) {
    process.stdin.setRawMode(true);
    process.stdin.resume();
    process.stdin.on("data", (data: Buffer) => {
      for (const key of data.toString("latin1")) {
        if (key === "b") running()?.rabbit.button(1);
        else if (key === "d") running()?.rabbit.button(2);
        else if (key === "e") moveEars();
        else if (key === "q" || key === "\u0003") stop();
      }
    });
  }
}

function releaseTerminal(): void {
  if (process.stdin.isTTY) {
    process.stdin.setRawMode(false);
    process.stdin.pause();
  }
}

/**
 * The rabbit's web page on 127.0.0.1:`port`, served before the rabbit boots (so that it sees every event), and
 * where it is: `[web] URL`, or a `web` event with --json (`emit`).
 */
async function openPage(port: number, mac: string, running: () => RunningRabbit | undefined, emit: ((event: RabbitEvent) => void) | undefined, lab?: Lab): Promise<RabbitPage> {
  const page = new RabbitPage(mac, secretsOf(running, mac));
  const url = await page.start(port, () => running()?.rabbit, lab).catch((error: Error) => fail(`the web page could not start on port ${port}: ${error.message}`));
  if (emit) emit({ event: "web", url });
  else out(`[web] ${url}`);
  return page;
}

/** The password and its registered (XORed) form, to mask in whatever is printed. */
function secretsOf(running: () => RunningRabbit | undefined, mac: string): () => string[] {
  return () => {
    const password = running()?.flash.password();
    return password ? [password, hexXor(password, mac)] : [];
  };
}

/** --resolve NAME=IPV4, repeated. */
function parseResolve(entries: string[] | undefined): Record<string, string> {
  const resolve: Record<string, string> = {};
  for (const entry of entries ?? []) {
    const match = /^([^=]+)=(\d+\.\d+\.\d+\.\d+)$/.exec(entry);
    if (!match) fail(`--resolve takes NAME=IPV4, not ${entry}`);
    resolve[match[1]!] = match[2]!;
  }
  return resolve;
}

/** The platform URL, if given, fits a flash; without one, the flash file must already hold one. */
function checkPlatform(platform: string | undefined, flashFile: string): void {
  if (platform === undefined) {
    if (!existsSync(flashFile)) fail("run needs --platform URL (a new flash file has no platform URL)");
    return;
  }
  try {
    flashUrl(platform);
  } catch (error) {
    fail((error as Error).message);
  }
}

async function runCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      platform: { type: "string" },
      mac: { type: "string" },
      profile: { type: "string" },
      quirk: { type: "string", multiple: true },
      sasl: { type: "string" },
      registration: { type: "string" },
      build: { type: "string" },
      flash: { type: "string" },
      "xmpp-port": { type: "string" },
      resolve: { type: "string", multiple: true },
      json: { type: "boolean" },
      verbose: { type: "boolean" },
      "show-secrets": { type: "boolean" },
      web: { type: "string" },
    },
  });
  const mac = checkedMac(values.mac);
  const profile = parseProfile(values.profile);
  const quirks = parseQuirks(values.quirk);
  const sasl = parseSasl(values.sasl);
  const registration = parseRegistration(values.registration, profile);
  const variant = parseBuild(values.build, { profile, quirks, sasl });
  const resolve = parseResolve(values.resolve);
  const flashFile = values.flash ?? join(HOME, `${mac}.flash`);
  checkPlatform(values.platform, flashFile);
  let running: RunningRabbit | undefined;
  const listener = observe({
    json: values.json ?? false,
    verbose: values.verbose,
    showSecrets: values["show-secrets"],
    secrets: secretsOf(() => running, mac),
    write: out,
  });
  const xmppPort = parsePort(values["xmpp-port"], "--xmpp-port");
  const json = values.json ?? false;
  if (!json) out(`[host] rabbit ${mac} (${profile} profile, ${registration} registration, ${variant} build), flash ${flashFile}; keys: b click, d double click, e ears, q quit`);
  else listener.emit({ event: "rabbit", mac, profile, registration, build: variant, flash: flashFile });
  const page = values.web === undefined ? undefined : await openPage(parsePort(values.web, "--web")!, mac, () => running, json ? listener.emit : undefined);
  try {
    running = runRabbit({
      platform: values.platform, mac, profile, quirks, sasl, registration, variant, flashFile, xmppPort, resolve, listener: combineListeners(watched(listener, profile, registration, json), page?.listener ?? {}),
      onFlashProblem: (message) => (json ? listener.emit({ event: "flash-problem", message }) : out(`[host] ${message}`)),
    });
  } catch (error) {
    fail((error as Error).message);
  }
  return new Promise((done) => {
    controls(() => running, () => {
      running?.stop();
      releaseTerminal();
      if (!values.json) out("[host] stopped; the flash file is whole");
      else listener.emit({ event: "stopped" });
      done(0);
    });
  });
}

/** The lab's lines: text, or JSON events with --json. */
function labPrinter(json: boolean): { event(event: LabEvent | LabHttpEvent): void; line(text: string, fields: Record<string, unknown>): void } {
  return {
    event(event) {
      if (json) out(JSON.stringify({ time: new Date().toISOString(), event: `lab-${event.type}`, ...event, type: undefined }));
      else {
        const text = describeLabEvent(event);
        if (text) out(`[lab] ${text}`);
      }
    },
    line(text, fields) {
      if (json) out(JSON.stringify({ time: new Date().toISOString(), ...fields }));
      else out(`[lab] ${text}`);
    },
  };
}

function parseBind(value: string | undefined): string {
  if (value === undefined) return "127.0.0.1";
  if (isIP(value) === 0) fail(`--bind takes an IP address, not ${value}`);
  return value;
}

function parseDomain(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const problem = dnsNameProblem(value);
  if (problem) fail(`--domain: ${problem}`);
  return value;
}

/** Starts the lab for `lab` and `start`, and says where it is, with its token and a warning off loopback. */
async function launchLab(options: LabOptions, printer: ReturnType<typeof labPrinter>): Promise<Lab> {
  const lab = await startLab({
    ...options,
    onEvent: (event) => printer.event(event),
    onProblem: (message) => printer.line(message, { event: "lab-problem", message }),
  }).catch((error: Error) => fail(`the lab could not start: ${error.message}`));
  printer.line(`platform ${lab.platformUrl} (XMPP on ${lab.host}:${lab.xmppPort}, domain ${lab.domain}, ${lab.dialect} dialect)`,
    { event: "lab", platform: lab.platformUrl, xmppPort: lab.xmppPort, domain: lab.domain, dialect: lab.dialect, token: lab.token, tokenFile: options.tokenFile });
  if (!isLoopback(lab.host)) printer.line(`warning: listening on ${lab.host}, not loopback: anyone who can reach it sees the rabbits and, with the token, commands them; the lab has no TLS`, { event: "lab-warning", host: lab.host });
  printer.line(`API token ${lab.token}${options.tokenFile ? ` (also in ${options.tokenFile}, mode 0600)` : ""}: curl -H "Authorization: Bearer ${lab.token}" -X POST ${lab.platformUrl.replace(/\/vl$/, "")}/lab/rabbits/MAC/sleep`, { event: "lab-token", token: lab.token });
  return lab;
}

async function labCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      "http-port": { type: "string" }, "xmpp-port": { type: "string" }, domain: { type: "string" }, accounts: { type: "string" },
      dialect: { type: "string" }, bind: { type: "string" }, "token-file": { type: "string" }, json: { type: "boolean" },
      mechanisms: { type: "string" },
    },
  });
  const dialect = parseDialect(values.dialect);
  const mechanisms = parseMechanisms(values.mechanisms, dialect);
  const printer = labPrinter(values.json ?? false);
  const lab = await launchLab({
    dialect,
    mechanisms,
    httpPort: parsePort(values["http-port"], "--http-port") ?? 8080,
    xmppPort: parsePort(values["xmpp-port"], "--xmpp-port") ?? 5222,
    domain: parseDomain(values.domain),
    accountsFile: values.accounts,
    host: parseBind(values.bind),
    tokenFile: values["token-file"] ?? join(HOME, "lab-token"),
  }, printer);
  printer.line(`a rabbit: nabaztag-vm run --platform ${lab.platformUrl} --mac 00:19:db:00:00:02`, { event: "lab-hint" });
  return new Promise((done) => {
    const stop = () => void lab.close().then(() => done(0));
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

async function startCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      mac: { type: "string" }, profile: { type: "string" }, registration: { type: "string" }, build: { type: "string" }, dialect: { type: "string" }, json: { type: "boolean" },
      web: { type: "string" }, "no-web": { type: "boolean" },
    },
  });
  const mac = checkedMac(values.mac);
  const profile = parseProfile(values.profile);
  const registration = parseRegistration(values.registration, profile);
  const variant = parseBuild(values.build, { profile });
  const json = values.json ?? false;
  if (values["no-web"] && values.web !== undefined) fail("--web and --no-web exclude each other");
  // The web page is on unless --no-web: on any free port unless --web says which.
  const webPort = values["no-web"] ? undefined : parsePort(values.web, "--web") ?? 0;
  let page: RabbitPage | undefined;
  const printer = labPrinter(json);
  // The lab's events go to the page too (its side of the page: who is online, what the lab did).
  const toPage = { ...printer, event: (event: LabEvent | LabHttpEvent) => { printer.event(event); page?.labEvent(event); } };
  const lab = await launchLab({ dialect: parseDialect(values.dialect), accountsFile: join(HOME, "lab-accounts.json"), tokenFile: join(HOME, "lab-token") }, toPage);
  printer.line(`another rabbit, from a second terminal: node build/host/cli.js run --platform ${lab.platformUrl} --mac 00:19:db:00:00:02`, { event: "lab-hint" });
  let running: RunningRabbit | undefined;
  const listener = observe({ json, secrets: secretsOf(() => running, mac), write: out });
  if (!json) out(`[host] rabbit ${mac} (${profile} profile, ${registration} registration, ${variant} build); keys: b click, d double click, e ears, q quit`);
  else listener.emit({ event: "rabbit", mac, profile, registration, build: variant, dialect: lab.dialect });
  if (webPort !== undefined) {
    page = await openPage(webPort, mac, () => running, json ? listener.emit : undefined, lab).catch(async (error: unknown) => {
      await lab.close();
      throw error;
    });
  }
  running = runRabbit({
    platform: lab.platformUrl, mac, profile, registration, variant, flashFile: join(HOME, `${mac}.flash`), listener: combineListeners(watched(listener, profile, registration, json), page?.listener ?? {}),
    onFlashProblem: (message) => (json ? listener.emit({ event: "flash-problem", message }) : out(`[host] ${message}`)),
  });
  return new Promise((done) => {
    controls(() => running, () => {
      running?.stop();
      void page?.close();
      releaseTerminal();
      void lab.close().then(() => {
        if (!json) out("[host] stopped; the flash file is whole");
        done(0);
      });
    });
  });
}

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
      registration: { type: "string" },
      transcript: { type: "boolean" },
    },
  });
  const [log] = positionals;
  if (!log) fail("replay needs a LOG");
  const problem = logFileProblem(log);
  if (problem) fail(problem);
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
  const profile = parseProfile(values.profile);
  const result = replayFile(log, {
    profile,
    registration: values.registration === undefined ? undefined : parseRegistration(values.registration, profile),
    mac: values.mac,
    domain: values.domain,
    pingServer: values["ping-server"],
    flashPassword: password,
    rngState: rngState === undefined ? undefined : Number(rngState),
    times,
  });
  if (values.transcript) for (const line of result.transcript) out(line);
  if (result.ok) {
    out(`replay: OK, ${result.matched} of ${result.expected} log entries matched (${result.registration} registration)`);
    return 0;
  }
  out(`replay: the rabbit differs from the log (${result.matched} of ${result.expected} entries matched)`);
  for (const error of result.errors) out(`  ${error}`);
  return 1;
}

function parseFaults(value: string | undefined): FaultKind[] | undefined {
  if (value === undefined) return undefined;
  const kinds = value.split(",");
  for (const kind of kinds) if (!FAULT_KINDS.includes(kind as FaultKind)) fail(`--faults takes names from ${FAULT_KINDS.join(", ")}; not ${kind}`);
  return [...new Set(kinds as FaultKind[])];
}

async function simulate(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      seeds: { type: "string" }, first: { type: "string" }, seed: { type: "string" }, trace: { type: "boolean" }, profile: { type: "string" },
      faults: { type: "string" }, workers: { type: "string" }, debug: { type: "boolean" }, plant: { type: "string" }, json: { type: "boolean" },
    },
  });
  if (values.seed !== undefined && (values.seeds !== undefined || values.first !== undefined)) fail("--seed runs one seed: not with --seeds or --first");
  if (values.trace && values.seed === undefined) fail("--trace goes with --seed S");
  const plant = values.plant ?? "none";
  if (!PLANTED_BUGS.includes(plant as PlantedBug)) fail(`--plant is ${PLANTED_BUGS.filter((bug) => bug !== "none").join(" or ")}, not ${plant}`);
  const one = values.seed !== undefined;
  return simCommand({
    first: parseCount(values.seed ?? values.first, one ? "--seed" : "--first", 1, SEED_MAX),
    count: one ? 1 : parseCount(values.seeds, "--seeds", 1000, SIM_SEEDS_MAX),
    profile: values.profile === undefined ? undefined : parseProfile(values.profile),
    kinds: parseFaults(values.faults),
    workers: values.workers === undefined ? undefined : Math.max(1, parseCount(values.workers, "--workers", 1, SIM_WORKERS_MAX)),
    debug: values.debug ?? false,
    plant: plant as PlantedBug,
    json: values.json ?? false,
    trace: values.trace ?? false,
  }, out);
}

function selfcheckCommand(args: string[]): number {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (positionals.length > 1) fail("selfcheck takes at most one LOG");
  const log = positionals[0] ?? SEED_LOG;
  const problem = logFileProblem(log);
  if (problem) fail(problem);
  return selfcheck(log, out) ? 0 : 1;
}

/** A log file must exist, be a regular file and not be huge (the seed is 12 KB). */
const LOG_BYTES_MAX = 16 * 1024 * 1024;
function logFileProblem(path: string): string | undefined {
  let stats;
  try {
    stats = statSync(path);
  } catch {
    return `no such file: ${path}`;
  }
  if (!stats.isFile()) return `not a file: ${path}`;
  if (stats.size > LOG_BYTES_MAX) return `${path} is ${stats.size} bytes; a debug log is at most ${LOG_BYTES_MAX}`;
  return undefined;
}

function version(): string {
  const manifest = JSON.parse(readFileSync(fileURLToPath(new URL("../../package.json", import.meta.url)), "utf8")) as { version: string };
  return `nabaztag-vm ${manifest.version} (the rabbit's bytecode rev 18673)`;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === "--version" || command === "-V") {
    out(version());
    return 0;
  }
  if (COMMAND_USAGE[command] && (rest.includes("--help") || rest.includes("-h"))) {
    process.stdout.write(`Usage:\n${COMMAND_USAGE[command]}\n${USAGE_END}`);
    return 0;
  }
  if (command === "--help-quirks") {
    out(QUIRK_NAMES.join("\n"));
    return 0;
  }
  switch (command) {
    case "start":
      return startCommand(rest);
    case "run":
      return runCommand(rest);
    case "lab":
      return labCommand(rest);
    case "replay":
      return replayCommand(rest);
    case "selfcheck":
      return selfcheckCommand(rest);
    case "sim":
      return simulate(rest);
    case "fleet":
      return rest[0] === "merge" ? fleetMergeCommand(rest.slice(1), out) : fleetCommand(rest, out);
    default:
      fail(`unknown command '${command}' (commands: ${Object.keys(COMMAND_USAGE).join(", ")})`);
  }
}

// A closed pipe (e.g. `| head`) ends the output quietly.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Servers and sockets are closed; nothing else should keep the process alive.
    if (code !== 0 || !["run", "start", "lab", "fleet"].includes(process.argv[2] ?? "")) return;
    setImmediate(() => process.exit(code));
  },
  (error: unknown) => {
    const usage = error instanceof UsageError || (error instanceof TypeError && "code" in error && String((error as { code: string }).code).startsWith("ERR_PARSE_ARGS"));
    process.stderr.write(`nabaztag-vm: ${error instanceof Error ? error.message : String(error)}\n`);
    if (usage) process.stderr.write("(nabaztag-vm --help for usage)\n");
    else if (error instanceof Error && error.stack) process.stderr.write(error.stack + "\n");
    process.exitCode = usage ? 2 : 1;
  },
);
