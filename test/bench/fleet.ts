// `npm run bench`, the fleet's rows: rabbits brought online per second after a power cut, idle rabbits per core and
// RSS per rabbit (the fleet against its own lab), and CPU per login beside xmpp.js doing the same SASL login against
// the same lab with the same accounts (test/bench/xmppjs-logins.ts). Each side is measured in its own processes; the
// lab runs in another. Prints figures and ratios; asserts nothing.

import { fork, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { fleetLayout, runFleet, type FleetOptions } from "../../host/fleet/fleet.js";
import type { LabCommand } from "../../host/fleet/protocol.js";
import { fleetMac, fleetPassword } from "../../host/fleet/rabbits.js";
import type { FleetReport } from "../../host/fleet/report.js";
import type { SaslMechanism } from "../../host/rabbit.js";

/** The power cut: rabbits started at once. */
const POWER_CUT_RABBITS = Number(process.env.BENCH_FLEET_RABBITS ?? 10_000);
/** Logins compared with xmpp.js, per mechanism. */
const LOGIN_CLIENTS = Number(process.env.BENCH_FLEET_LOGINS ?? 500);
/** How long the idle rabbits are held online before their CPU is read. */
const IDLE_S = Number(process.env.BENCH_FLEET_IDLE_S ?? 60);
const MAC_BASE = 0x0019db200000n;

function fleetOptions(count: number, extra: Partial<FleetOptions>): FleetOptions {
  return { count, profile: "firmware", rampPerSecond: null, timeoutMs: 300_000, macBase: MAC_BASE, shard: { index: 0, count: 1 }, workers: 2, ...extra };
}

async function fleet(options: FleetOptions): Promise<FleetReport> {
  const layout = fleetLayout(options, true);
  if (typeof layout === "string") throw new Error(layout);
  return runFleet(options, layout, { progress: () => undefined, problem: (message) => console.log(`  [fleet] ${message}`) }, { stop: false });
}

/** A lab process of the fleet's kind, with the accounts of `count` registered rabbits and `sasl` offered first. */
async function labWithAccounts(count: number, sasl: SaslMechanism): Promise<{ url: string; xmppPort: number; stop(): void }> {
  const child = fork(fileURLToPath(new URL("../../host/fleet/lab-process.js", import.meta.url)), [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const command: LabCommand = { type: "start", rabbits: count, workers: 1, sasl, registered: { macBase: MAC_BASE.toString(16).padStart(12, "0"), ranges: [{ first: 0, count }] } };
  child.send(command);
  const ready = await new Promise<{ platformUrl: string; xmppPorts: number[] }>((resolve, reject) => {
    child.once("message", (message: { type: string; platformUrl: string; xmppPorts: number[]; message?: string }) => (message.type === "ready" ? resolve(message) : reject(new Error(message.message))));
  });
  return { url: ready.platformUrl, xmppPort: ready.xmppPorts[0]!, stop: () => child.kill() };
}

/** xmpp.js logging in `count` clients (the same accounts); its JSON line. */
async function xmppJs(xmppPort: number, count: number, mechanism: string): Promise<{ cpuMsPerLogin: number; failures: number }> {
  const script = fileURLToPath(new URL("./xmppjs-logins.js", import.meta.url));
  const child = spawn(process.execPath, [script, "--service", `xmpp://127.0.0.1:${xmppPort}`, "--domain", "localhost", "--mechanism", mechanism], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = Array.from({ length: count }, (_, i) => `${fleetMac(MAC_BASE, i)}:${fleetPassword(fleetMac(MAC_BASE, i))}`);
  child.stdin!.end(lines.join("\n") + "\n");
  let output = "";
  child.stdout!.on("data", (data: Buffer) => (output += data.toString("utf8")));
  await new Promise((resolve) => child.once("exit", resolve));
  return JSON.parse(output.trim().split("\n").at(-1)!) as { cpuMsPerLogin: number; failures: number };
}

function line(label: string, value: string, note = ""): void {
  console.log(`  ${label.padEnd(50)}${value.padStart(16)}   ${note}`);
}

console.log();
console.log(`Fleet (rabbits in 2 worker processes, the lab in its own; ${POWER_CUT_RABBITS} rabbits for the power cut)`);
const cut = await fleet(fleetOptions(POWER_CUT_RABBITS, {}));
const allOnline = cut.timeToAllOnlineMs === null ? "not all online" : `${(cut.timeToAllOnlineMs / 1000).toFixed(1)} s`;
line("power cut: all online after", allOnline, `${cut.online}/${cut.rabbits} online, ${cut.locate.repeated} repeated locate.jsp, ${Object.values(cut.failures).reduce((a, b) => a + b, 0)} failures`);
line("rabbits brought online per second", cut.timeToAllOnlineMs ? (cut.rabbits / (cut.timeToAllOnlineMs / 1000)).toFixed(0) : "-", `login p50 ${cut.loginMs.p50} ms, p99 ${cut.loginMs.p99} ms (firmware: 3 s of it is its own wait)`);
line("CPU per login, firmware (DIGEST-MD5)", `${cut.cpu.perLoginMs} ms`, "boot, locate.jsp, registration and login, in the fleet's processes");
const idle = await fleet(fleetOptions(POWER_CUT_RABBITS, { durationMs: IDLE_S * 1000 }));
if (idle.idle) {
  line("idle rabbits per core", (idle.online / (idle.idle.cpuPercent / 100)).toFixed(0), `${idle.online} online for ${idle.idle.seconds} s: ${idle.idle.cpuPercent} % of one core`);
}
line("RSS per idle rabbit", `${(idle.memory.rssPerRabbitBytes / 1024).toFixed(1)} KiB`, `${(idle.memory.rssBytes / 1048576).toFixed(0)} MiB in all`);

for (const mechanism of ["SCRAM-SHA-1", "PLAIN"] as const) {
  const lab = await labWithAccounts(LOGIN_CLIENTS, mechanism);
  try {
    const rabbits = await fleet(fleetOptions(LOGIN_CLIENTS, { platform: lab.url, profile: "standard", sasl: mechanism, registered: true, workers: 1 }));
    const theirs = await xmppJs(lab.xmppPort, LOGIN_CLIENTS, mechanism);
    // Per SASL login: a standard rabbit logs in twice to get online (resource `boot`, then `idle` on a new stream),
    // an xmpp.js client once. The rabbit's CPU also pays for its boot and locate.jsp.
    const ours = rabbits.cpu.perSaslLoginMs ?? Number.NaN;
    line(`CPU per SASL login, ${mechanism}: ours / xmpp.js`, `${ours} / ${theirs.cpuMsPerLogin} ms`,
      `${(theirs.cpuMsPerLogin / ours).toFixed(2)}x (theirs / ours; ours ${rabbits.cpu.perLoginMs} ms per rabbit online, boot and locate.jsp included), ${rabbits.saslLogins} and ${LOGIN_CLIENTS - theirs.failures} logins`);
  } finally {
    lab.stop();
  }
}
