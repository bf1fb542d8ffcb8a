// `nabaztag-vm fleet` and `fleet merge`: the options, checked; the progress line; the report, its file and chart.

import { readFileSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { writePrivateFileAtomic } from "../files.js";
import { parseMac } from "../rabbit.js";
import { flashUrl } from "../run.js";
import { fail, parseBuild, parseCount, parseProfile, parseRegistration, parseSasl } from "../usage.js";
import { onlineChart } from "./chart.js";
import { FleetView } from "../web/fleet-view.js";
import { WebServer } from "../web/server.js";
import { fleetLayout, runFleet, FLEET_TIMEOUT_MS_DEFAULT, type FleetEvents, type FleetOptions } from "./fleet.js";
import { FLEET_RABBITS_MAX, FLEET_WORKERS_MAX } from "./limits.js";
import { describeReport, mergeReports, reportProblem, type FleetReport } from "./report.js";

/** The default first MAC: Violet's prefix 00:19:db, a range no shipped rabbit used for tests. */
export const FLEET_MAC_BASE_DEFAULT = "00:19:db:10:00:00";
/** A report file is at most this big (a timeline of 4,800 points and a histogram are far less). */
const REPORT_BYTES_MAX = 16 * 1024 * 1024;
const RAMP_PER_SECOND_MAX = 100_000;
const DURATION_S_MAX = 7 * 24 * 3600;

function parseShard(value: string | undefined): FleetOptions["shard"] {
  if (value === undefined) return { index: 0, count: 1 };
  const match = /^(\d+)\/(\d+)$/.exec(value);
  if (!match || Number(match[2]) < 1 || Number(match[1]) >= Number(match[2]) || Number(match[2]) > 10_000) {
    fail(`--shard takes K/N with 0 <= K < N <= 10000 (e.g. 0/4 ... 3/4), not ${value}`);
  }
  return { index: Number(match[1]), count: Number(match[2]) };
}

function parseMacBase(value: string | undefined, count: number, shard: FleetOptions["shard"]): bigint {
  let bytes: Uint8Array;
  try {
    bytes = parseMac(value ?? FLEET_MAC_BASE_DEFAULT);
  } catch (error) {
    fail(`--mac-base: ${(error as Error).message}`);
  }
  const base = BigInt(`0x${Buffer.from(bytes).toString("hex")}`);
  if (base + BigInt(shard.count) * BigInt(count) > 0xffff_ffff_ffffn) fail("--mac-base: the rabbits' MACs would pass ff:ff:ff:ff:ff:ff");
  return base;
}

function parsePlatform(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    flashUrl(value);
  } catch (error) {
    fail(`--platform: ${(error as Error).message}`);
  }
  return /^http:\/\//i.test(value) ? value : `http://${value}`;
}

interface FleetCommandOptions {
  options: FleetOptions;
  json: boolean;
  report?: string;
  workersExplicit: boolean;
  /** The fleet's web page on 127.0.0.1:PORT (0: any free port). */
  webPort?: number;
}

function fleetOptions(args: string[]): FleetCommandOptions {
  const { values } = parseArgs({
    args,
    options: {
      count: { type: "string" }, platform: { type: "string" }, profile: { type: "string" }, registration: { type: "string" }, ramp: { type: "string" },
      duration: { type: "string" }, timeout: { type: "string" }, "mac-base": { type: "string" }, shard: { type: "string" }, "flash-dir": { type: "string" },
      workers: { type: "string" }, report: { type: "string" }, json: { type: "boolean" }, sasl: { type: "string" }, registered: { type: "boolean" },
      web: { type: "string" }, build: { type: "string" },
    },
  });
  const count = Math.max(1, parseCount(values.count, "--count", 100, FLEET_RABBITS_MAX));
  const profile = parseProfile(values.profile);
  const shard = parseShard(values.shard);
  const ramp = values.ramp === undefined ? null : parseCount(values.ramp, "--ramp", 0, RAMP_PER_SECOND_MAX);
  if (ramp === 0) fail("--ramp takes a rate of at least 1 rabbit per second");
  const duration = values.duration === undefined ? undefined : parseCount(values.duration, "--duration", 0, DURATION_S_MAX) * 1000;
  const workers = Math.min(count, parseCount(values.workers, "--workers", availableParallelism(), FLEET_WORKERS_MAX) || 1);
  const options: FleetOptions = {
    count, profile, shard, workers, rampPerSecond: ramp, durationMs: duration,
    registration: values.registration === undefined ? undefined : parseRegistration(values.registration, profile),
    platform: parsePlatform(values.platform),
    timeoutMs: parseCount(values.timeout, "--timeout", FLEET_TIMEOUT_MS_DEFAULT / 1000, DURATION_S_MAX) * 1000,
    macBase: parseMacBase(values["mac-base"], count, shard),
    flashDir: values["flash-dir"],
    sasl: parseSasl(values.sasl),
    build: values.build === undefined ? undefined : parseBuild(values.build, { profile, sasl: parseSasl(values.sasl) }),
    registered: values.registered ?? false,
  };
  const webPort = values.web === undefined ? undefined : parseCount(values.web, "--web", 0, 65535);
  return { options, json: values.json ?? false, report: values.report, workersExplicit: values.workers !== undefined, webPort };
}

/** Writes the report (0600, atomically) and its chart beside it. */
function saveReport(report: FleetReport, file: string): string {
  writePrivateFileAtomic(file, Buffer.from(JSON.stringify(report, null, 1) + "\n"));
  const chart = file.replace(/\.json$/i, "") + ".svg";
  writePrivateFileAtomic(chart, Buffer.from(onlineChart(report)));
  return chart;
}

/** The fleet's page, when asked for: its URL said as the lab's and the rabbit's are. */
async function fleetPage(command: FleetCommandOptions, out: (line: string) => void): Promise<{ view: FleetView; server: WebServer } | undefined> {
  if (command.webPort === undefined) return undefined;
  const { options } = command;
  const view = new FleetView(options.count, `${options.count} rabbits, ${options.profile}, ${options.rampPerSecond === null ? "all at once" : `${options.rampPerSecond}/s`}`);
  const server = new WebServer({ rabbits: [], fleet: view });
  await server.listen(command.webPort).catch((error: Error) => fail(`the web page could not start on port ${command.webPort}: ${error.message}`));
  if (command.json) out(JSON.stringify({ event: "web", url: server.url }));
  else out(`[web] ${server.url}`);
  return { view, server };
}

/** Progress: a line rewritten on a terminal, JSON lines at most once a second, and the page. */
function progressPrinter(json: boolean, out: (line: string) => void, view: FleetView | undefined): FleetEvents {
  const tty = !json && process.stderr.isTTY;
  let lastJson = 0;
  return {
    progress: (p) => {
      view?.update(p);
      const text = `${p.seconds.toFixed(1)} s: ${p.started} started, ${p.online} online, ${p.retrying} retrying, ${p.loginsPerSecond.toFixed(0)} logins/s`;
      if (tty) process.stderr.write(`\r${text}\x1b[K`);
      else if (json && p.seconds - lastJson >= 1) {
        lastJson = p.seconds;
        out(JSON.stringify({ event: "progress", ...p, seconds: Math.round(p.seconds * 10) / 10, loginsPerSecond: Math.round(p.loginsPerSecond) }));
      }
    },
    problem: (message) => (json ? out(JSON.stringify({ event: "problem", message })) : process.stderr.write(`${tty ? "\n" : ""}[fleet] ${message}\n`)),
  };
}

export async function fleetCommand(args: string[], out: (line: string) => void): Promise<number> {
  const command = fleetOptions(args);
  const { options, json, report: reportFile } = command;
  const layout = fleetLayout(options, command.workersExplicit);
  if (typeof layout === "string") {
    process.stderr.write(`nabaztag-vm fleet: ${layout}\n`);
    return 1;
  }
  const stopSignal = { stop: false };
  const stop = () => {
    stopSignal.stop = true;
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  const page = await fleetPage(command, out);
  const tty = !json && process.stderr.isTTY;
  const report = await runFleet(options, layout, progressPrinter(json, out, page?.view), stopSignal).catch((error: Error) => {
    process.stderr.write(`${tty ? "\n" : ""}nabaztag-vm fleet: ${error.message}\n`);
    return undefined;
  });
  if (tty) process.stderr.write("\n");
  if (report) page?.view.finish(describeReport(report));
  await page?.server.close();
  if (!report) return 1;
  const chart = reportFile ? saveReport(report, reportFile) : undefined;
  if (json) out(JSON.stringify({ event: "report", ...report }));
  else {
    for (const line of describeReport(report)) out(line);
    if (reportFile) out(`report: ${reportFile}, chart: ${chart}`);
  }
  return report.online === report.rabbits ? 0 : 1;
}

function readReport(path: string): FleetReport {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    fail(`no such file: ${path}`);
  }
  if (size > REPORT_BYTES_MAX) fail(`${path} is ${size} bytes; a fleet report is at most ${REPORT_BYTES_MAX}`);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    fail(`${path} is not JSON: ${(error as Error).message}`);
  }
  const problem = reportProblem(value);
  if (problem) fail(`${path}: ${problem}`);
  return value as FleetReport;
}

export function fleetMergeCommand(args: string[], out: (line: string) => void): number {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { report: { type: "string" }, json: { type: "boolean" } } });
  if (positionals.length === 0) fail("fleet merge needs the reports to merge");
  const reports = positionals.map(readReport);
  const shards = reports.flatMap((report) => report.shards);
  const twice = shards.find((shard, i) => shards.indexOf(shard) !== i);
  if (twice) fail(`shard ${twice} is in more than one report: merging it twice would count its rabbits twice`);
  const counts = new Set(shards.map((shard) => shard.split("/")[1]));
  if (counts.size > 1) fail(`the reports are shards of different splits (${shards.join(", ")}): each K/N must have the same N`);
  const merged = mergeReports(reports);
  const chart = values.report ? saveReport(merged, values.report) : undefined;
  if (values.json) out(JSON.stringify({ event: "report", ...merged }));
  else {
    out(`${reports.length} reports, shards ${shards.join(", ")}`);
    for (const line of describeReport(merged)) out(line);
    if (values.report) out(`report: ${values.report}, chart: ${chart}`);
  }
  return 0;
}
