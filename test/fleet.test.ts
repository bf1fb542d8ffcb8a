// The fleet: 200 rabbits over 2 worker processes against the fleet's own lab, all at once (a power cut) and ramped,
// as two shards whose reports merge; the report's numbers agree with what the lab counted; a platform that is down,
// too few file descriptors and bad options each give one clear message.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { after, test } from "node:test";
import { canRaiseHardLimits, memoryProblem } from "../host/fleet/limits.js";
import { fleetMac, fleetPassword } from "../host/fleet/rabbits.js";
import { bucketOf, Histogram, mergeReports, reportProblem, Timeline, type FleetReport } from "../host/fleet/report.js";
import { FLASH_PASSWORD_FLAG, FLASH_PASSWORD_FLAG_OFFSET } from "../host/vm/flash.js";
import { ROOT } from "./helpers.js";

const CLI = `${ROOT}build/host/cli.js`;
const work = mkdtempSync(join(tmpdir(), "nabaztag-fleet-"));
after(() => rmSync(work, { recursive: true, force: true }));

function fleet(args: string[], timeoutMs = 120_000) {
  const result = spawnSync(process.execPath, [CLI, "fleet", ...args], { encoding: "utf8", timeout: timeoutMs });
  const lines = result.stdout.trim().split("\n").filter(Boolean);
  const last = lines.length > 0 && lines.at(-1)!.startsWith("{") ? (JSON.parse(lines.at(-1)!) as FleetReport & { event: string }) : undefined;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, report: last };
}

function checkWholeReport(report: FleetReport, rabbits: number): void {
  assert.equal(report.rabbits, rabbits);
  assert.equal(report.started, rabbits);
  assert.equal(report.online, rabbits, JSON.stringify(report.failures));
  assert.equal(report.everOnline, rabbits);
  assert.equal(report.workers, 2);
  assert.deepEqual(report.failures, {});
  // Each rabbit called locate.jsp once, registered once and logged in once: the lab counted the same.
  assert.equal(report.locate.calls, rabbits);
  assert.equal(report.locate.repeated, 0);
  assert.equal(report.lab?.locateCalls, rabbits);
  assert.equal(report.lab?.registrations, rabbits);
  assert.equal(report.lab?.logins, rabbits);
  assert.equal(report.xmpp.connections, rabbits);
  assert.equal(report.loginMs.count, rabbits);
  const { p50, p95, p99, max } = report.loginMs;
  assert.ok(p50 !== null && p95 !== null && p99 !== null);
  assert.ok(p50 <= p95 && p95 <= p99 && p99 <= max, `${p50} ${p95} ${p99} ${max}`);
  // The firmware waits 3 s after connecting before its stream header: no login is faster.
  assert.ok(p50 >= 3000, `p50 ${p50}`);
  assert.equal(report.timeline.online.at(-1), rabbits);
  assert.ok(report.timeToAllOnlineMs !== null && report.timeToAllOnlineMs >= max);
  // A firmware rabbit registers and logs in on one stream: one SASL login each.
  assert.equal(report.saslLogins, rabbits);
  assert.ok(report.cpu.fleetMs > 0 && report.cpu.perLoginMs! > 0);
  assert.equal(report.cpu.perSaslLoginMs, report.cpu.perLoginMs);
  assert.ok(report.memory.rssPerRabbitBytes > 0);
}

test("200 rabbits at once (a power cut), 2 workers: all online, one locate each, the report and its chart", () => {
  const file = join(work, "power-cut.json");
  const run = fleet(["--count", "200", "--workers", "2", "--shard", "0/2", "--report", file, "--json"]);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.report?.event, "report");
  checkWholeReport(run.report!, 200);
  assert.equal(run.report!.ramp, null);
  const saved = JSON.parse(readFileSync(file, "utf8")) as FleetReport;
  assert.equal(saved.online, 200);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const chart = readFileSync(join(work, "power-cut.svg"), "utf8");
  assert.match(chart, /^<svg /);
  assert.match(chart, /200 rabbits \(firmware, all at once\): all online after/);
  assert.ok((chart.match(/,/g) ?? []).length >= saved.timeline.online.length, "a point per timeline step");
  // JSON progress lines came first, one per second at most.
  assert.ok(run.stdout.includes('"event":"progress"'));
});

test("ramped at 100 rabbits/s as shard 1 of 2, flash on disk: online over 2 s, the shard's own MACs, merged with shard 0", () => {
  const flashDir = join(work, "flash");
  const file = join(work, "ramp.json");
  const run = fleet(["--count", "200", "--workers", "2", "--ramp", "100", "--shard", "1/2", "--flash-dir", flashDir, "--report", file, "--json"]);
  assert.equal(run.status, 0, run.stderr);
  checkWholeReport(run.report!, 200);
  assert.equal(run.report!.ramp, 100);
  // 200 rabbits at 100 per second: the last starts after 2 s and needs its 3 s.
  assert.ok(run.report!.timeToAllOnlineMs! >= 5000, `${run.report!.timeToAllOnlineMs}`);
  const stepsTo100 = run.report!.timeline.online.findIndex((n) => n >= 100);
  const stepsTo200 = run.report!.timeline.online.findIndex((n) => n >= 200);
  assert.ok(stepsTo200 - stepsTo100 >= 3, "a ramp fills the timeline gradually");
  // Shard 1 of 2 with 200 rabbits: MACs base+200 .. base+399, each sector written whole with its password.
  const files = readdirSync(flashDir).sort();
  const base = 0x0019db100000n;
  assert.deepEqual(files, Array.from({ length: 200 }, (_, i) => `${fleetMac(base, 200 + i)}.flash`).sort());
  for (const name of files.slice(0, 20)) {
    const sector = readFileSync(join(flashDir, name));
    assert.equal(sector.length, 4096);
    assert.equal(sector[FLASH_PASSWORD_FLAG_OFFSET], FLASH_PASSWORD_FLAG);
    assert.equal(statSync(join(flashDir, name)).mode & 0o777, 0o600);
  }
  const merged = spawnSync(process.execPath, [CLI, "fleet", "merge", join(work, "power-cut.json"), file, "--report", join(work, "merged.json"), "--json"], { encoding: "utf8" });
  assert.equal(merged.status, 0, merged.stderr);
  const sum = JSON.parse(merged.stdout.trim()) as FleetReport;
  assert.equal(sum.rabbits, 400);
  assert.equal(sum.online, 400);
  assert.equal(sum.loginMs.count, 400);
  assert.deepEqual(sum.shards, ["0/2", "1/2"]);
  assert.equal(sum.locate.calls, 400);
  assert.equal(sum.timeline.online.at(-1), 400);
});

test("rabbits that registered long ago (a server restart): logins only, with the passwords the lab was given", () => {
  const run = fleet(["--count", "50", "--workers", "1", "--registered", "--json"]);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.report!.online, 50);
  assert.equal(run.report!.saslLogins, 50);
  assert.equal(run.report!.lab?.registrations, 0);
  assert.equal(run.report!.lab?.logins, 50);
  assert.equal(run.report!.lab?.refusals, 0);
  assert.deepEqual(run.report!.failures, {});
  assert.match(fleetPassword("0019db100000"), /^[0-9a-f]{12}$/);
});

test("standard rabbits (one resource per stream): two SASL logins to get online, CPU counted per each", () => {
  const run = fleet(["--count", "20", "--workers", "1", "--profile", "standard", "--registered", "--json"]);
  assert.equal(run.status, 0, run.stderr);
  const report = run.report!;
  assert.equal(report.online, 20);
  assert.deepEqual(report.failures, {});
  // `boot` on the first stream, then `idle` on a second one (RFC 6120: the stream is closed and opened again).
  assert.equal(report.saslLogins, 40);
  assert.equal(report.xmpp.connections, 40);
  assert.equal(report.lab?.logins, 20);
  assert.ok(Math.abs(report.cpu.perSaslLoginMs! * 2 - report.cpu.perLoginMs!) <= 0.02, JSON.stringify(report.cpu));
});

test("flash files that are not sectors (too long, too short): one line says so, those rabbits start erased and get online; their stale temporary files go", () => {
  const flashDir = mkdtempSync(join(work, "bad-flash-"));
  const base = 0x0019db300000n;
  writeFileSync(join(flashDir, `${fleetMac(base, 0)}.flash`), Buffer.alloc(1024 * 1024, 0x41), { mode: 0o600 });
  writeFileSync(join(flashDir, `${fleetMac(base, 1)}.flash`), Buffer.alloc(100, 0x41), { mode: 0o600 });
  // Temporary files of an interrupted write: this fleet's rabbit's goes, another MAC's stays.
  writeFileSync(join(flashDir, `${fleetMac(base, 2)}.flash.tmp-4242-0badf00d`), Buffer.alloc(10), { mode: 0o600 });
  const otherTemp = join(flashDir, `${fleetMac(base, 7)}.flash.tmp-4242-0badf00d`);
  writeFileSync(otherTemp, Buffer.alloc(10), { mode: 0o600 });
  const run = fleet(["--count", "3", "--workers", "1", "--mac-base", "00:19:db:30:00:00", "--flash-dir", flashDir, "--json"]);
  assert.equal(run.status, 0, run.stderr);
  const problems = run.stdout.split("\n").filter((line) => line.includes('"event":"problem"'));
  assert.equal(problems.filter((line) => line.includes("2 flash file(s)") && line.includes("are not 4096 bytes")).length, 1, problems.join("\n"));
  assert.equal(problems.filter((line) => line.includes("removed 1 temporary flash file(s)")).length, 1, problems.join("\n"));
  assert.equal(run.report!.online, 3);
  for (const i of [0, 1, 2]) assert.equal(statSync(join(flashDir, `${fleetMac(base, i)}.flash`)).size, 4096);
  assert.deepEqual(readdirSync(flashDir).filter((name) => name.includes(".tmp-")), [basename(otherTemp)]);
});

test("--build: the module the rabbits run, said in the report (device by default for firmware rabbits)", () => {
  const byDefault = fleet(["--count", "3", "--workers", "1", "--mac-base", "00:19:db:31:00:00", "--json"]);
  assert.equal(byDefault.status, 0, byDefault.stderr);
  assert.equal(byDefault.report!.build, "device");
  const release = fleet(["--count", "3", "--workers", "1", "--mac-base", "00:19:db:31:10:00", "--build", "release", "--json"]);
  assert.equal(release.status, 0, release.stderr);
  assert.equal(release.report!.build, "release");
  assert.equal(release.report!.online, 3);
  // The report's build is what the workers' rabbits ran (Rabbit.variant), not the option repeated.
  const standard = fleet(["--count", "2", "--workers", "1", "--mac-base", "00:19:db:31:20:00", "--profile", "standard", "--json"]);
  assert.equal(standard.status, 0, standard.stderr);
  assert.equal(standard.report!.build, "release");
});

test("a platform that is down: every rabbit retries, the report says why, exit status 1", () => {
  const run = fleet(["--count", "6", "--workers", "1", "--platform", "http://127.0.0.1:1/vl", "--duration", "2", "--json"]);
  assert.equal(run.status, 1);
  assert.equal(run.report!.online, 0);
  assert.equal(run.report!.timeToAllOnlineMs, null);
  assert.ok((run.report!.failures["locate.jsp: connection refused"] ?? 0) >= 6, JSON.stringify(run.report!.failures));
  assert.equal(run.report!.lab, null);
});

test("the open-file limit: more workers when the default would not fit; a clear sentence when --workers cannot", () => {
  // Without CAP_SYS_RESOURCE (which root has), a hard limit set by prlimit cannot be passed.
  const dropCapability = canRaiseHardLimits() ? ["setpriv", "--bounding-set=-sys_resource"] : [];
  const limited = (args: string[]) => {
    const command = [...dropCapability, "prlimit", "--nofile=1000:1000", process.execPath, CLI, "fleet", ...args];
    return spawnSync(command[0]!, command.slice(1), { encoding: "utf8", timeout: 60_000 });
  };
  const refused = limited(["--count", "2000", "--workers", "1", "--platform", "http://127.0.0.1:1/vl"]);
  assert.equal(refused.status, 1, refused.stderr);
  assert.match(refused.stderr, /each worker needs 2384 file descriptors and the hard limit is 1000 \(ulimit -Hn\): use more workers/);
  assert.doesNotMatch(refused.stderr, /at .*\.js:\d+/, "no stack trace");
  // 1000 descriptors leave 616 rabbits per process: 2000 rabbits go to 4 workers, each within its limit.
  const spread = limited(["--count", "2000", "--platform", "http://127.0.0.1:1/vl", "--duration", "1", "--json"]);
  const report = JSON.parse(spread.stdout.trim().split("\n").at(-1)!) as FleetReport;
  assert.equal(report.workers, 4);
  assert.equal(report.started, 2000);
  assert.equal(Object.keys(report.failures).filter((reason) => /EMFILE|too many open files/i.test(reason)).length, 0, JSON.stringify(report.failures));
});

test("bad options and bad reports: one line each, exit status 2", () => {
  const notReport = join(work, "not-a-report.json");
  writeFileSync(notReport, JSON.stringify({ format: "something else" }));
  const cases: [string[], RegExp][] = [
    [["--count", "many"], /--count takes an integer from 0 to 200000/],
    [["--shard", "2/2"], /--shard takes K\/N with 0 <= K < N/],
    [["--ramp", "0"], /--ramp takes a rate of at least 1/],
    [["--build", "arm"], /--build is device or release, not arm/],
    [["--build", "device", "--profile", "standard"], /--build device runs the firmware profile/],
    [["--mac-base", "zz"], /--mac-base: not a MAC address/],
    [["--platform", "ftp://x/vl"], /--platform: not a platform URL/],
    [["merge"], /fleet merge needs the reports/],
    [["merge", notReport], /not a fleet report/],
    [["merge", join(work, "power-cut.json"), join(work, "power-cut.json")], /shard 0\/2 is in more than one report/],
    [["merge", "/nonexistent.json"], /no such file/],
  ];
  for (const [args, message] of cases) {
    const result = spawnSync(process.execPath, [CLI, "fleet", ...args], { encoding: "utf8", timeout: 30_000 });
    assert.equal(result.status, 2, `${args.join(" ")}: ${result.stderr}`);
    assert.match(result.stderr, message);
  }
});

test("report arithmetic: buckets within 1 %, merged percentiles over all samples, timelines that halve", () => {
  for (const value of [0, 7, 999, 1000, 1234, 98_765, 1_234_567]) {
    assert.ok(bucketOf(value) <= value && value - bucketOf(value) <= value * 0.01, `${value} → ${bucketOf(value)}`);
  }
  const a = new Histogram();
  const b = new Histogram();
  for (let i = 1; i <= 90; i++) a.add(i);
  for (let i = 0; i < 10; i++) b.add(5000);
  a.merge(b);
  assert.equal(a.count, 100);
  assert.equal(a.percentile(0.5), 50);
  assert.equal(a.percentile(0.9), 90);
  assert.equal(a.percentile(0.95), 5000);
  const timeline = new Timeline();
  for (let ms = 0; ms < 4_800 * 250 * 3; ms += 250) timeline.record(ms, ms);
  assert.ok(timeline.online.length <= 4_800);
  assert.equal(timeline.stepMs, 1000);
  assert.equal(timeline.online.at(-1), 4_800 * 250 * 3 - 250);
  const one = { ...JSON.parse(readFileSync(join(work, "power-cut.json"), "utf8")) } as FleetReport;
  const twice = mergeReports([one, { ...one, shards: ["1/2"] }]);
  assert.equal(twice.rabbits, 2 * one.rabbits);
  assert.equal(twice.loginMs.p50, one.loginMs.p50);
  assert.equal(one.build, "device");
  assert.equal(twice.build, "device");
  assert.equal(mergeReports([one, { ...one, shards: ["1/2"], build: "release" }]).build, "device+release");
  assert.equal(reportProblem({ ...one, build: "<script>" }), "build is not the name of a build");
  assert.match(memoryProblem(100_000, 2, true, 1024 ** 3) ?? "", /100000 rabbits need about \d+ MiB .* and \d+ MiB is available/);
  assert.equal(memoryProblem(100, 2, true, 8 * 1024 ** 3), undefined);
});

test("the Kubernetes Indexed Job runs one shard per completion index, with options the fleet takes", () => {
  const manifest = readFileSync(join(ROOT, "deploy", "fleet-job.yaml"), "utf8");
  const completions = Number(/^\s*completions:\s*(\d+)/m.exec(manifest)?.[1]);
  assert.equal(/^\s*completionMode:\s*Indexed/m.test(manifest), true);
  assert.equal(Number(/--shard "\$JOB_COMPLETION_INDEX\/(\d+)"/.exec(manifest)?.[1]), completions);
  const options = [...manifest.matchAll(/^\s+(--[a-z-]+)/gm)].map((match) => match[1]!);
  assert.ok(options.length >= 4, options.join(" "));
  const help = spawnSync(process.execPath, [CLI, "fleet", "--help"], { encoding: "utf8" }).stdout;
  for (const option of options) assert.ok(help.includes(`${option} `), `fleet --help documents ${option}`);
});
