// The rabbit's web page in a real browser (headless Chromium): the lab and a firmware rabbit in-process, in real
// time, with the page's server; the page shows the rabbit online, its button reaches the lab as the button stanza,
// a sleep sent from the page puts the rabbit to sleep and the page says so, an ambient packet moves the drawn ears,
// a reboot and a restart of the page's server are lived through. Screenshots go to build/screenshots/; the README's
// docs/web-page.png is written when missing or with NABAZTAG_UPDATE_SCREENSHOT=1.

import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Page } from "playwright-core";
import type { LabHttpEvent } from "../host/lab/http-server.js";
import { startLab, type Lab } from "../host/lab/lab.js";
import { ambientPacket } from "../host/lab/packets.js";
import type { LabEvent } from "../host/lab/xmpp-server.js";
import { runRabbit, type RunningRabbit } from "../host/run.js";
import { webLab, WebServer } from "../host/web/server.js";
import { RabbitView } from "../host/web/state.js";
import { launchChromium, type Browser } from "./browser.js";
import { ROOT } from "./helpers.js";

const MAC = "0019db0000a1";
const SCREENSHOTS = join(ROOT, "build", "screenshots");
const DOCS_SCREENSHOT = join(ROOT, "docs", "web-page.png");

let lab: Lab;
let server: WebServer;
let running: RunningRabbit;
let browser: Browser;
const home = mkdtempSync(join(tmpdir(), "nabaztag-web-"));
const labEvents: (LabEvent | LabHttpEvent)[] = [];
const view = new RabbitView({ mac: MAC, secrets: () => { const password = running?.flash.password(); return password ? [password] : []; } });

function pageServer(port: number): Promise<number> {
  server = new WebServer({ rabbits: [{ view, control: () => running?.rabbit }], lab: webLab(lab) });
  return server.listen(port);
}

before(async () => {
  lab = await startLab({ onEvent: (event) => { labEvents.push(event); server?.labEvent(event); } });
  await pageServer(0);
  running = runRabbit({ platform: lab.platformUrl, mac: MAC, profile: "firmware", flashFile: join(home, "rabbit.flash"), listener: view.listener });
  browser = await launchChromium();
  mkdirSync(SCREENSHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  running?.stop();
  await server?.close();
  await lab?.close();
  rmSync(home, { recursive: true, force: true });
});

/** Waits until the lab has seen an event that satisfies `test`. */
async function labSaw(test: (event: LabEvent | LabHttpEvent) => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!labEvents.some(test)) {
    if (Date.now() > deadline) throw new Error(`the lab saw no ${what} within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits for an element: CSS selectors say what the page must show (attributes of the SVG, the state's text). */
const shown = (page: Page, selector: string, ms: number, text?: string) =>
  page.locator(selector, text === undefined ? {} : { hasText: text }).first().waitFor({ state: "attached", timeout: ms });

const phaseIs = (page: Page, text: string, ms: number) => page.locator("#phase", { hasText: new RegExp(`^${text}$`) }).waitFor({ timeout: ms });

const earsAre = async (page: Page, left: number, right: number, ms: number) => {
  await shown(page, `#ear-left[data-position="${left}"]`, ms);
  await shown(page, `#ear-right[data-position="${right}"]`, ms);
};

const message = (pattern: RegExp) => (event: LabEvent | LabHttpEvent) => event.type === "message" && pattern.test(event.payload);

test("the page in Chromium: online, click, ears, sleep, reboot, a restarted server", async () => {
  const page = await browser.context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(error.message));
  await page.goto(server.url);
  await phaseIs(page, "online as idle", 40_000);
  assert.equal(await page.getAttribute("#connection", "data-connected"), "true");
  assert.match(await page.textContent("#jid") ?? "", /^0019db0000a1@localhost\/idle$/);
  await page.locator("#lab-online tr", { hasText: /00:19:db:00:00:a1\s*idle/ }).waitFor({ timeout: 5_000 });
  await page.screenshot({ path: join(SCREENSHOTS, "online.png"), fullPage: true });

  // The page's button reaches the lab as the button stanza.
  await page.getByRole("button", { name: "Click the button" }).click();
  await labSaw(message(/<clic>1<\/clic>/), 10_000, "button message <clic>1</clic>");
  await page.getByRole("button", { name: "Double-click" }).click();
  await labSaw(message(/<clic>2<\/clic>/), 10_000, "button message <clic>2</clic>");

  // An ambient packet from the lab moves the drawn ears; so does one sent from the page through the lab.
  assert.ok(lab.xmpp.sendPacket(MAC, ambientPacket({ left: 3, right: 12 })));
  await earsAre(page, 3, 12, 10_000);
  assert.equal(await page.getAttribute("#ear-left", "transform"), "translate(80 104) rotate(-30)");
  assert.equal(await page.getAttribute("#ear-right", "transform"), "translate(120 104) rotate(120)");
  await page.fill("#ambient-left", "10");
  await page.fill("#ambient-right", "5");
  await page.getByRole("button", { name: "Send ambient" }).click();
  await earsAre(page, 10, 5, 10_000);
  await shown(page, "#stanzas li.out", 5_000, "<clic>2</clic>");
  await page.screenshot({ path: join(SCREENSHOTS, "ears.png"), fullPage: true });
  if (!existsSync(DOCS_SCREENSHOT) || process.env.NABAZTAG_UPDATE_SCREENSHOT === "1") copyFileSync(join(SCREENSHOTS, "ears.png"), DOCS_SCREENSHOT);

  // The user turns the ears on the page: drawn at once, and the rabbit tells the lab.
  await page.getByLabel("Left ear", { exact: true }).first().fill("8");
  await page.getByLabel("Right ear", { exact: true }).first().fill("2");
  await page.getByRole("button", { name: "Turn the ears" }).click();
  await earsAre(page, 8, 2, 5_000);
  await labSaw(message(/<left>8<\/left><right>2<\/right>/), 10_000, "ears message");

  // Sleep, sent from the page through the lab: the rabbit goes to sleep and the page shows it.
  await page.getByRole("button", { name: "Sleep" }).click();
  await phaseIs(page, "online as asleep", 20_000);
  await shown(page, "#rabbit.asleep", 1_000);
  await page.screenshot({ path: join(SCREENSHOTS, "asleep.png"), fullPage: true });

  // A reboot through the lab: the page says so, and why, and follows the rabbit back online.
  await page.getByRole("button", { name: "Reboot" }).click();
  await phaseIs(page, "rebooting", 10_000);
  assert.match(await page.textContent("#reason") ?? "", /reboot/);
  await phaseIs(page, "online as idle", 40_000);
  assert.equal(await page.textContent("#boots"), "2");

  // The page's server stops: the page says disconnected; it comes back (same port, a new token): the page reloads.
  const port = server.port;
  await server.close();
  await shown(page, '#connection[data-connected="false"]', 10_000);
  await page.screenshot({ path: join(SCREENSHOTS, "disconnected.png"), fullPage: true });
  await pageServer(port);
  await shown(page, `meta[name="page-token"][content="${server.token}"]`, 15_000);
  await phaseIs(page, "online as idle", 10_000);
  await page.getByRole("button", { name: "Click the button" }).click();
  await page.locator("#result", { hasText: /^click: done$/ }).waitFor({ timeout: 5_000 });
  assert.deepEqual(problems, [], "no script errors on the page");
  await page.close();
});
