// The command line in real time: `npm start` brings a rabbit online against the lab; a second rabbit joins it with
// `nabaztag-vm run`; the lab's API reaches it; an unreachable platform gives clear messages and retries.

import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ROOT } from "./helpers.js";

const CLI = `${ROOT}build/host/cli.js`;
const home = mkdtempSync(join(tmpdir(), "nabaztag-cli-"));
/** $NABAZTAG_HOME: not there yet, so the CLI makes it (0700). */
const state = join(home, "state");
const children: ChildProcess[] = [];
after(() => {
  // The whole process group: npm's child (the CLI) too.
  for (const child of children) {
    if (child.exitCode !== null) continue;
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      child.kill("SIGKILL");
    }
  }
  rmSync(home, { recursive: true, force: true });
});

/** A running command, its output lines, and a way to wait for one. */
function launch(command: string, args: string[]) {
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, NABAZTAG_HOME: state }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  children.push(child);
  const lines: string[] = [];
  const waiters: { test: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  let partial = "";
  child.stdout!.on("data", (data: Buffer) => {
    partial += data.toString("utf8");
    let newline: number;
    while ((newline = partial.indexOf("\n")) >= 0) {
      const line = partial.slice(0, newline);
      partial = partial.slice(newline + 1);
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.test(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  });
  let stderr = "";
  child.stderr!.on("data", (data: Buffer) => (stderr += data.toString("utf8")));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    child,
    lines,
    stderr: () => stderr,
    waitFor(test: (line: string) => boolean, ms: number, what: string): Promise<string> {
      const found = lines.find(test);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms; output:\n${lines.slice(-30).join("\n")}\n${stderr}`)), ms);
        waiters.push({ test, resolve: (line) => { clearTimeout(timer); resolve(line); } });
      });
    },
    /** Ctrl-C (to the whole process group, as a terminal does); the exit code, or a failure after 10 s. */
    async interrupt(): Promise<number | null> {
      if (child.exitCode !== null) return child.exitCode;
      process.kill(-child.pid!, "SIGINT");
      const timeout = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 10_000).unref());
      const result = await Promise.race([exited, timeout]);
      if (result === "timeout") {
        child.kill("SIGKILL");
        throw new Error(`${args.join(" ")}: still running 10 s after Ctrl-C; output:\n${lines.slice(-15).join("\n")}\n${stderr}`);
      }
      return result;
    },
  };
}

type Event = { event: string } & Record<string, unknown>;

const json = (line: string): Event => {
  try {
    return JSON.parse(line) as Event;
  } catch {
    return { event: "" };
  }
};

test("npm start: the lab and a firmware rabbit, online; a second rabbit runs beside it; the lab API reaches it", async () => {
  const start = launch("npm", ["start", "--silent"]);
  await start.waitFor((line) => line.startsWith("[rabbit] online as 0019db01dbd7@localhost/idle"), 30_000, "online line from npm start");
  await start.waitFor((line) => line.includes("unbound boot: boot finished"), 10_000, "the end of boot");
  for (const expected of ["[lab] 0019db01dbd7 registered", "[lab] 0019db01dbd7 logged in (DIGEST-MD5)", "[lab] 0019db01dbd7 bound boot", "[lab] 0019db01dbd7 bound idle"]) {
    assert.ok(start.lines.includes(expected), expected);
  }
  const platform = /platform (http:\/\/127\.0\.0\.1:\d+\/vl)/.exec(start.lines.find((line) => line.startsWith("[lab] platform"))!)![1]!;
  const token = /^\[lab\] API token ([0-9a-f]{32}) \(also in (\S+), mode 0600\)/.exec(start.lines.find((line) => line.startsWith("[lab] API token"))!)!;
  assert.equal(readFileSync(token[2]!, "utf8"), `${token[1]}\n`, "the token file holds the printed token");
  assert.equal(statSync(token[2]!).mode & 0o777, 0o600);
  assert.equal(statSync(state).mode & 0o777, 0o700, "the state directory");
  // The web page is on by default, on a free loopback port.
  const web = /^\[web\] (http:\/\/127\.0\.0\.1:\d+\/)$/.exec(start.lines.find((line) => line.startsWith("[web]")) ?? "");
  assert.ok(web, "a [web] line with the page's URL");
  const page = await fetch(web[1]!);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<meta name="page-token" content="[0-9a-f]{32}">/);

  // A second rabbit, as from a second terminal, in the standard profile, with JSON events.
  const second = launch(process.execPath, [CLI, "run", "--platform", platform, "--mac", "00:19:db:00:00:02", "--profile", "standard", "--json"]);
  const online = json(await second.waitFor((line) => json(line).event === "online", 30_000, "online event"));
  assert.equal(online.jid, "0019db000002@localhost/idle");
  // The firmware rabbit of npm start runs the device build, the standard one the release build.
  assert.ok(start.lines.some((line) => line.startsWith("[host] rabbit 0019db01dbd7 (firmware profile, stock registration, device build)")));
  assert.equal(json(second.lines.find((line) => json(line).event === "rabbit")!).build, "release");
  assert.ok(second.lines.every((line) => typeof json(line).event === "string" && json(line).event.length > 0), "every line has an event");
  const status = await (await fetch(platform.replace("/vl", "/lab"))).json() as { online: { mac: string; resource: string }[] };
  assert.deepEqual(status.online.map((r) => `${r.mac}/${r.resource}`).sort(), ["0019db000002/idle", "0019db01dbd7/idle"]);

  // Signals: SIGUSR1 clicks the button, SIGUSR2 moves the ears; both go out as messages.
  second.child.kill("SIGUSR1");
  await second.waitFor((line) => json(line).event === "out" && /<button xmlns="violet:nabaztag:button"><clic>1<\/clic><\/button>/.test(String(json(line).data)), 10_000, "button message");
  second.child.kill("SIGUSR2");
  await second.waitFor((line) => json(line).event === "out" && /<ears xmlns="violet:nabaztag:ears"><left>\d+<\/left><right>\d+<\/right><\/ears>/.test(String(json(line).data)), 10_000, "ears message");

  // The lab's API: ambient, a malformed packet, sleep.
  const api = (action: string, authorization = `Bearer ${token[1]}`) =>
    fetch(`${platform.replace("/vl", "/lab")}/rabbits/0019db000002/${action}`, { method: "POST", headers: { authorization } });
  assert.equal((await api("sleep", "Bearer wrong")).status, 401, "a wrong token changes nothing");
  assert.equal((await api("ambient?left=10&right=5&nose=1")).status, 200);
  const isNewAmbient = (line: string) => json(line).event === "frame" && json(line).type === "ambient" && JSON.stringify(json(line).services).includes("10");
  const ambient = json(await second.waitFor(isNewAmbient, 10_000, "ambient frame"));
  assert.deepEqual(ambient.services, [{ service: "left ear", value: 10 }, { service: "right ear", value: 5 }, { service: "nose", value: 1 }]);
  await api(`packet?base64=${encodeURIComponent(Buffer.from("7f0b0000ff01ff", "hex").toString("base64"))}`);
  const rejected = json(await second.waitFor((line) => json(line).event === "packet-error", 10_000, "packet error"));
  assert.match(String(rejected.reason), /length past the end/);
  await api("sleep");
  const asleep = json(await second.waitFor((line) => json(line).event === "online" && String(json(line).jid).endsWith("/asleep"), 30_000, "online asleep"));
  assert.equal(asleep.jid, "0019db000002@localhost/asleep");
  assert.equal((await fetch(`${platform.replace("/vl", "/lab")}/rabbits/0019db0000ff/wake`, { method: "POST", headers: { authorization: `Bearer ${token[1]}` } })).status, 404);

  // Ctrl-C: both stop cleanly, and the flash files are whole.
  assert.equal(await second.interrupt(), 0);
  assert.ok(second.lines.some((line) => json(line).event === "stopped"));
  // npm itself gets the Ctrl-C too and may end by the signal; what counts is that the rabbit stopped cleanly.
  const npmExit = await start.interrupt();
  assert.ok(npmExit === 0 || npmExit === null, `npm exit ${npmExit}`);
  assert.ok(start.lines.includes("[host] stopped; the flash file is whole"), start.lines.slice(-5).join("\n"));
  for (const file of ["0019db01dbd7.flash", "0019db000002.flash"]) {
    const flash = readFileSync(join(state, file));
    assert.equal(statSync(join(state, file)).mode & 0o777, 0o600, `${file}: mode`);
    assert.equal(flash.length, 4096);
    assert.equal(flash[208], 0x64, `${file}: a password is stored`);
  }
});

test("passwords are masked in the output unless --show-secrets", async () => {
  // The registration carries the (XORed) password: --verbose shows the bytes on the connection.
  const lab = launch(process.execPath, [CLI, "lab", "--http-port", "0", "--xmpp-port", "0"]);
  const line = await lab.waitFor((l) => l.startsWith("[lab] platform"), 10_000, "lab start");
  const platform = /(http:\S+)/.exec(line)![1]!;
  const rabbit = launch(process.execPath, [CLI, "run", "--platform", platform, "--mac", "00:19:db:00:00:03", "--verbose", "--flash", join(home, "masked.flash")]);
  await rabbit.waitFor((l) => l.startsWith("[rabbit] online as"), 30_000, "online");
  const registration = rabbit.lines.find((l) => l.includes("<password>"))!;
  assert.match(registration, /<password>\*{12}<\/password>/);
  const password = JSON.parse(JSON.stringify(readFileSync(join(home, "masked.flash")).subarray(209, 221).toString("latin1")));
  assert.ok(!rabbit.lines.some((l) => l.includes(password)), "the stored password never shows");
  assert.equal(await rabbit.interrupt(), 0);
  assert.equal(await lab.interrupt(), 0);
});

/** A platform that answers locate.jsp with `body` (or `status`). */
async function fakePlatform(status: number, body: string): Promise<{ url: string; server: Server }> {
  const server = createServer((_request, response) => {
    response.writeHead(status, { Connection: "close" });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/vl`, server };
}

test("an unreachable platform: refused, 404, no xmpp_domain, DNS failure: clear messages, retries, no crash", async () => {
  const refused = await fakePlatform(200, "");
  const refusedUrl = refused.url;
  await new Promise<void>((resolve) => refused.server.close(() => resolve()));
  const notFound = await fakePlatform(404, "not here");
  const noDomain = await fakePlatform(200, "ping 127.0.0.1:1\nbroad 127.0.0.1:1\n");
  const badDomain = await fakePlatform(200, "ping 127.0.0.1:1\nxmpp_domain nabaztag-test.invalid\n");
  const cases: [string, string, (events: ({ event: string } & Record<string, unknown>)[]) => boolean][] = [
    [refusedUrl, "refused", (events) => events.some((e) => e.event === "http-answer" && e.error === "connection refused") && events.some((e) => e.event === "uart" && e.line === "call to locate.jsp failed, rebooting") && events.some((e) => e.event === "boot" && e.count === 2)],
    [notFound.url, "404", (events) => events.some((e) => e.event === "http-answer" && e.status === 404 && e.error === "HTTP 404") && events.some((e) => e.event === "uart" && e.line === "call to locate.jsp failed, rebooting") && events.some((e) => e.event === "boot" && e.count === 2)],
    [noDomain.url, "no xmpp_domain", (events) => events.some((e) => e.event === "error" && String(e.message).includes("xmpp_domain"))],
    [badDomain.url, "DNS failure", (events) => events.some((e) => e.event === "dns-failed" && e.type === "A" && e.name === "nabaztag-test.invalid") && events.some((e) => e.event === "uart" && e.line === "DNS: no address for nabaztag-test.invalid") && events.some((e) => e.event === "status" && e.status === "closed")],
  ];
  const runs = cases.map(([url, name], i) => ({ name, run: launch(process.execPath, [CLI, "run", "--platform", url, "--mac", `00:19:db:00:01:0${i}`, "--json", "--flash", join(home, `unreachable-${i}.flash`)]) }));
  for (const [index, [, name, check]] of cases.entries()) {
    const { run } = runs[index]!;
    const deadline = Date.now() + 15_000;
    while (!check(run.lines.map(json)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(check(run.lines.map(json)), `${name}: ${run.lines.slice(-10).join("\n")}`);
    assert.equal(run.child.exitCode, null, `${name}: still running`);
    assert.equal(await run.interrupt(), 0, name);
    assert.equal(run.stderr(), "", name);
  }
  for (const platform of [notFound, noDomain, badDomain]) platform.server.close();
});

test("bad usage exits 2 with a message", () => {
  const cases: [string[], RegExp][] = [
    [["run"], /needs --platform/],
    [["run", "--platform", "http://127.0.0.1:1/vl", "--profile", "odd"], /--profile is firmware or standard/],
    [["run", "--platform", "http://127.0.0.1:1/vl", "--quirk", "nope=on"], /unknown quirk 'nope'/],
    [["run", "--platform", "http://127.0.0.1:1/vl", "--mac", "xyz"], /not a MAC address/],
    [["run", "--platform", "http://127.0.0.1:1/vl", "--sasl", "CRAM-MD5"], /--sasl is SCRAM-SHA-1, DIGEST-MD5 or PLAIN/],
    [["frobnicate"], /unknown command/],
    [["run", "--platform", "notaurl"], /not a platform URL: "notaurl": notaurl is not a host name/],
    [["run", "--platform", "http://127.0.0.1:1/v l"], /not a platform URL/],
    [["run", "--platform", "http://127.0.0.1:99999/vl"], /bad port/],
    [["run", "--platform", "http://127.0.0.1:1/vl", "--registration", "odd"], /--registration is stock, binary, seed/],
    [["run", "--platform", "http://127.0.0.1:1/vl", "--bogus"], /Unknown option '--bogus'/],
    [["run", "--platform", "http://127.0.0.1:1/vl", "--build", "tiny"], /--build is device or release, not tiny/],
    [["run", "--platform", "http://127.0.0.1:1/vl", "--build", "device", "--profile", "standard"], /--build device runs the firmware profile/],
    [["start", "--build", "device", "--profile", "standard"], /--build device runs the firmware profile/],
    [["lab", "--dialect", "odd"], /--dialect is tolerant or openjabnab/],
    [["run", "--platform", "http://127.0.0.1:1/vl", "--web", "web"], /--web takes a port number/],
    [["start", "--web", "0", "--no-web"], /--web and --no-web exclude each other/],
    [["lab", "--bind", "1.2.3"], /--bind takes an IP address/],
    [["lab", "--domain", "a b"], /--domain: /],
    [["selfcheck", "/nonexistent"], /no such file: \/nonexistent/],
    [["replay", "/nonexistent"], /no such file: \/nonexistent/],
    [["sim", "--plant", "slow"], /--plant is no-reconnect or flash-in-place, not slow/],
    [["sim", "--faults", "drop,meteor"], /--faults takes names from latency, .*; not meteor/],
    [["sim", "--seeds=-3"], /--seeds takes an integer from 0 to 1000000/],
    [["sim", "--seeds", "-3"], /--seeds.* argument is ambiguous/],
    [["sim", "--seed", "4", "--seeds", "9"], /--seed runs one seed/],
    [["sim", "--trace"], /--trace goes with --seed S/],
  ];
  // A home of its own: a flash file left by another test would let `run` start without --platform.
  const empty = mkdtempSync(join(home, "empty-"));
  for (const [args, message] of cases) {
    const result = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 20_000, env: { ...process.env, NABAZTAG_HOME: empty } });
    assert.equal(result.status, 2, args.join(" "));
    assert.match(result.stderr, message);
  }
  const help = spawnSync(process.execPath, [CLI, "--help"], { encoding: "utf8" });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /nabaztag-vm run --platform URL/);
  for (const command of ["run", "lab", "start", "replay", "selfcheck"]) {
    const own = spawnSync(process.execPath, [CLI, command, "--help"], { encoding: "utf8" });
    assert.equal(own.status, 0, command);
    assert.match(own.stdout, new RegExp(`^Usage:\\n  nabaztag-vm ${command}`), command);
    assert.doesNotMatch(own.stdout, command === "run" ? /nabaztag-vm lab/ : /nabaztag-vm run --platform/, `${command}: only its own`);
  }
  const version = spawnSync(process.execPath, [CLI, "--version"], { encoding: "utf8" });
  assert.equal(version.status, 0);
  assert.match(version.stdout, /^nabaztag-vm \d+\.\d+\.\d+ /);
  // Not a debug log: the check fails (1) and says why, rather than passing on nothing.
  const notALog = spawnSync(process.execPath, [CLI, "selfcheck", `${ROOT}README.md`], { encoding: "utf8" });
  assert.equal(notALog.status, 1);
  assert.match(notALog.stdout, /selfcheck: FAILED: .*README\.md holds no server messages/);
});

