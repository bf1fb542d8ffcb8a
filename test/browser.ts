// A real headless Chromium for the page tests: Debian's (/usr/bin/chromium, installed by scripts/prepare.mjs --test)
// driven by playwright-core, which never downloads a browser of its own. A fresh profile directory per launch.

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

/** Quiet and offline: no sandbox (root in CI), no GPU, nothing fetched in the background. */
const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync",
];

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: node scripts/prepare.mjs --test installs Debian's chromium`);
  // The fresh --user-data-dir: playwright-core passes it for a persistent context.
  const userDataDir = mkdtempSync(join(tmpdir(), "nabaztag-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 860 },
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
