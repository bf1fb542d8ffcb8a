// A real-time rabbit for the integration tests, watched through its JSON event stream (the same lines
// `nabaztag-vm run --json` prints), and a stand-in Violet platform: locate.jsp pointing at the server under test,
// and a record of every HTTP request the rabbit makes (sendMailXMPP.jsp reports).

import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { observe, type RabbitEvent } from "../../host/observe.js";
import type { Profile, QuirkSettings } from "../../host/quirks.js";
import type { RegistrationForm, SaslMechanism } from "../../host/rabbit.js";
import { runRabbit, type RunningRabbit } from "../../host/run.js";
import { Flash } from "../../host/vm/flash.js";

export interface Platform {
  url: string;
  /** Paths with query of every request, in order. */
  requests: string[];
  close(): Promise<void>;
}

/** locate.jsp answers `xmpp_domain DOMAIN:PORT` (OpenJabNab's form), so the rabbit connects straight to the server. */
export async function startPlatform(domain: string, xmppPort: number): Promise<Platform> {
  const requests: string[] = [];
  let base = "";
  const server: Server = createServer((request, response) => {
    const path = request.url ?? "";
    requests.push(path);
    if (path.startsWith("/vl/locate.jsp")) {
      response.end(`ping ${base}\nbroad ${base}\nxmpp_domain ${domain}:${xmppPort}\n`);
    } else {
      response.end("");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    url: `http://${base}/vl`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export function randomMac(): string {
  return randomBytes(6).toString("hex");
}

export interface WatchedRabbit {
  mac: string;
  running: RunningRabbit;
  events: RabbitEvent[];
  /** Resolves with the first event (from index `from` on) that satisfies `test`; rejects after `ms`. */
  waitFor(test: (event: RabbitEvent) => boolean, ms: number, what: string, from?: number): Promise<RabbitEvent>;
  /** The index of the first event satisfying `test` at or after `from`, or -1. */
  indexOf(test: (event: RabbitEvent) => boolean, from?: number): number;
  uart(): string[];
  stop(): void;
}

export interface WatchOptions {
  platform: string;
  domain: string;
  profile: Profile;
  /** Named by every test: the form the server under test accepts (or the one whose refusal it checks). */
  registration: RegistrationForm;
  quirks?: QuirkSettings;
  sasl?: SaslMechanism;
  mac?: string;
  /** The flash file; by default a fresh one, removed on stop. */
  flashFile?: string;
  /** A password to put in a fresh flash before boot. */
  flashPassword?: string;
}

export function watchRabbit(options: WatchOptions): WatchedRabbit {
  const mac = options.mac ?? randomMac();
  const directory = options.flashFile ? undefined : mkdtempSync(join(tmpdir(), "nabaztag-rabbit-"));
  const events: RabbitEvent[] = [];
  const waiters: { test: (event: RabbitEvent) => boolean; from: number; resolve: (event: RabbitEvent) => void }[] = [];
  const listener = observe({
    json: true,
    showSecrets: true,
    secrets: () => [],
    write(line) {
      const event = JSON.parse(line) as RabbitEvent;
      events.push(event);
      for (const waiter of [...waiters]) {
        if (events.length - 1 >= waiter.from && waiter.test(event)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(event);
        }
      }
    },
  });
  const flashFile = options.flashFile ?? join(directory!, "flash.bin");
  if (options.flashPassword) new Flash(flashFile).setPassword(options.flashPassword);
  const running = runRabbit({
    platform: options.platform,
    mac,
    profile: options.profile,
    quirks: options.quirks,
    sasl: options.sasl,
    registration: options.registration,
    flashFile,
    resolve: { [options.domain]: "127.0.0.1" },
    listener,
  });
  const indexOf = (test: (event: RabbitEvent) => boolean, from = 0) => {
    for (let i = from; i < events.length; i++) if (test(events[i]!)) return i;
    return -1;
  };
  return {
    mac,
    running,
    events,
    indexOf,
    waitFor(test, ms, what, from = 0) {
      const found = indexOf(test, from);
      if (found >= 0) return Promise.resolve(events[found]!);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          const tail = events.slice(-40).map((e) => JSON.stringify(e)).join("\n");
          reject(new Error(`${mac}: no ${what} within ${ms} ms; last events:\n${tail}`));
        }, ms);
        waiters.push({ test, from, resolve: (event) => { clearTimeout(timer); resolve(event); } });
      });
    },
    uart: () => events.filter((e) => e.event === "uart").map((e) => String(e.line)),
    stop() {
      running.stop();
      if (directory) rmSync(directory, { recursive: true, force: true });
    },
  };
}
