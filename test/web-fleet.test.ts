// The fleet's web page (`fleet --web PORT`) with 1,000 rabbits, in a real headless Chromium: the counts reach 1,000
// online, the counts by state say so, the chart draws the climb; its event stream keeps its pace (about four events a
// second) while the rabbits log in; bad requests are refused as on the rabbit's page. A screenshot goes to
// build/screenshots/fleet.png.

import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { launchChromium, type Browser } from "./browser.js";
import { ROOT } from "./helpers.js";

const CLI = `${ROOT}build/host/cli.js`;
const RABBITS = 1000;
let fleet: ChildProcess;
let url: string;
let browser: Browser;
const lines: string[] = [];

before(async () => {
  fleet = spawn(process.execPath, [CLI, "fleet", "--count", String(RABBITS), "--workers", "2", "--web", "0", "--duration", "25", "--json"], { stdio: ["ignore", "pipe", "inherit"] });
  let partial = "";
  fleet.stdout!.on("data", (data: Buffer) => {
    partial += data.toString("utf8");
    const parts = partial.split("\n");
    partial = parts.pop()!;
    lines.push(...parts);
  });
  const deadline = Date.now() + 20_000;
  while (!lines.some((line) => line.includes('"event":"web"'))) {
    if (Date.now() > deadline) throw new Error(`no web line: ${lines.join("\n")}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  url = (JSON.parse(lines.find((line) => line.includes('"event":"web"'))!) as { url: string }).url;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  if (fleet.exitCode === null) fleet.kill("SIGINT");
});

test("the event stream keeps its pace while 1,000 rabbits log in: a snapshot, then a step about every 250 ms", async () => {
  const events: { at: number; kind: string; online?: number }[] = [];
  await new Promise<void>((resolve, reject) => {
    const started = Date.now();
    const req = request(`${url}events`, (response) => {
      assert.equal(response.statusCode, 200);
      assert.match(String(response.headers["content-type"]), /^text\/event-stream/);
      let buffer = "";
      response.on("data", (chunk: Buffer) => {
        buffer += chunk.toString("utf8");
        for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (data) events.push({ at: Date.now() - started, ...(JSON.parse(data) as { kind: string; online?: number }) });
        }
        if (Date.now() - started > 5000) {
          req.destroy();
          resolve();
        }
      });
    });
    req.on("error", (error) => (events.length > 0 ? resolve() : reject(error)));
    req.end();
  });
  assert.equal(events[0]?.kind, "hello");
  const steps = events.filter((event) => event.kind === "fleet");
  assert.ok(steps.length >= 12, `${steps.length} steps in 5 s`);
  const gaps = steps.slice(1).map((event, i) => event.at - steps[i]!.at);
  assert.ok(Math.max(...gaps) < 1500, `the longest gap between steps: ${Math.max(...gaps)} ms`);
});

test("in Chromium: 1,000 online, the counts by state, the chart", async () => {
  const page = await browser.context.newPage();
  await page.goto(url);
  // A locator waits from Playwright's own script: a string predicate would be eval'd in the page, which its Content
  // Security Policy refuses (as it should) whenever the first check is not already true.
  await page.locator("#count-online", { hasText: new RegExp(`^${RABBITS}$`) }).waitFor({ timeout: 60_000 });
  assert.equal(await page.textContent("#count-rabbits"), String(RABBITS));
  assert.equal(await page.getAttribute("#connection", "data-connected"), "true");
  // Every rabbit online has its session open ("opened"), the module's own status name.
  assert.equal(await page.textContent('#statuses tr[data-state="opened"] td'), String(RABBITS));
  const points = (await page.getAttribute("#chart-line", "points"))!.trim().split(" ");
  assert.ok(points.length >= 8, `${points.length} points`);
  const ys = points.map((point) => Number(point.split(",")[1]));
  assert.ok(ys[0]! > ys.at(-1)!, "the line climbs (y grows downwards)");
  assert.match((await page.textContent("#chart-description"))!, new RegExp(`^${RABBITS} of ${RABBITS} rabbits online`));
  mkdirSync(join(ROOT, "build", "screenshots"), { recursive: true });
  await page.screenshot({ path: join(ROOT, "build", "screenshots", "fleet.png"), fullPage: true });
  await page.close();
});

test("bad requests to the fleet's page: a POST, another Host, another origin", async () => {
  const ask = (method: string, headers: Record<string, string>) => new Promise<number>((resolve, reject) => {
    const req = request(`${url}events`, { method, headers }, (response) => {
      response.resume();
      resolve(response.statusCode!);
      req.destroy();
    });
    req.on("error", reject);
    req.end();
  });
  assert.equal(await ask("POST", {}), 405);
  assert.equal(await ask("GET", { Host: "evil.example:80" }), 403);
  assert.equal(await ask("GET", { Origin: "http://evil.example" }), 403);
});
