// A rabbit in real time against a real platform: real TCP, HTTP and DNS, a flash file, Node's timers. Used by
// `nabaztag-vm run` and `nabaztag-vm start`.

import { dirname } from "node:path";
import { ensurePrivateDir } from "./files.js";
import type { Variant } from "./core.js";
import type { Profile, QuirkSettings } from "./quirks.js";
import { Rabbit, type RabbitListener, type RegistrationForm, type SaslMechanism } from "./rabbit.js";
import { RealResolver, type Resolver } from "./vm/dns.js";
import { Flash, FLASH_SERVER_URL_SIZE } from "./vm/flash.js";
import { parseHttpUrl, RealHttp } from "./vm/http.js";
import { RealNetwork, type Network } from "./vm/network.js";
import { RealScheduler } from "./vm/scheduler.js";

export interface RunOptions {
  /** The Violet-platform URL the rabbit is configured with ("http://host:port/vl"); stored in the flash. */
  platform?: string;
  mac: string;
  profile: Profile;
  quirks?: QuirkSettings;
  sasl?: SaslMechanism;
  registration?: RegistrationForm;
  /** The module (usage.ts, parseBuild); default as Rabbit's. */
  variant?: Variant;
  flashFile: string;
  /** Connections the rabbit makes to port 5222 go here instead. */
  xmppPort?: number;
  /** Names the rabbit resolves without asking DNS (like curl --resolve). */
  resolve?: Record<string, string>;
  listener: RabbitListener;
  /** A problem with the flash file (corrupt at start, a failed write): one line to show. */
  onFlashProblem?: (message: string) => void;
}

/**
 * The rabbit's flash URL: scheme-less "host[:port]/path", at most 40 bytes (spec §2.2). The host must look like one
 * (a dotted name or address, localhost, or a name with a port): a bare word is more likely a mistake than a platform.
 */
export function flashUrl(platform: string): string {
  const url = platform.replace(/^http:\/\//i, "").replace(/\/+$/, "");
  const parsed = parseHttpUrl(url);
  const example = "e.g. http://host:port/vl (the rabbit calls locate.jsp there)";
  if ("problem" in parsed) throw new Error(`not a platform URL: ${JSON.stringify(platform)}: ${parsed.problem}; ${example}`);
  const { host } = parsed.target;
  if (!host.includes(".") && host !== "localhost" && !/:\d+(\/|$)/.test(url)) {
    throw new Error(`not a platform URL: ${JSON.stringify(platform)}: ${host} is not a host name; ${example}`);
  }
  if (/[^\x21-\x7e]/.test(url)) throw new Error(`not a platform URL: ${JSON.stringify(platform)}: spaces or control characters`);
  if (Buffer.byteLength(url, "latin1") > FLASH_SERVER_URL_SIZE) throw new Error(`the platform URL must fit the rabbit's ${FLASH_SERVER_URL_SIZE} bytes: ${url}`);
  return url;
}

class PortOverride implements Network {
  constructor(private readonly network: Network, private readonly port: number) {}
  open(address: string, port: number, events: Parameters<Network["open"]>[2]) {
    return this.network.open(address, port === 5222 ? this.port : port, events);
  }
}

class OverridingResolver implements Resolver {
  constructor(private readonly resolver: Resolver, private readonly names: Record<string, string>) {}
  srv(name: string, done: Parameters<Resolver["srv"]>[1]): void {
    this.resolver.srv(name, done);
  }
  a(name: string, done: (address: string | undefined) => void): void {
    const address = this.names[name];
    if (address !== undefined) setImmediate(() => done(address));
    else this.resolver.a(name, done);
  }
}

export interface RunningRabbit {
  rabbit: Rabbit;
  flash: Flash;
  stop(): void;
}

export function runRabbit(options: RunOptions): RunningRabbit {
  ensurePrivateDir(dirname(options.flashFile));
  const flash = new Flash(options.flashFile, undefined, { onProblem: options.onFlashProblem });
  if (options.platform) {
    const url = flashUrl(options.platform);
    if (flash.serverUrl() !== url) flash.setServerUrl(url);
  } else if (!flash.serverUrl()) {
    throw new Error(`${options.flashFile} holds no platform URL: give --platform`);
  }
  const scheduler = new RealScheduler();
  const real = new RealNetwork();
  const http = new RealHttp();
  const rabbit = new Rabbit({
    mac: options.mac,
    profile: options.profile,
    quirks: options.quirks,
    sasl: options.sasl,
    registration: options.registration,
    variant: options.variant,
    flash,
    scheduler,
    network: options.xmppPort ? new PortOverride(real, options.xmppPort) : real,
    http,
    resolver: new OverridingResolver(new RealResolver(), options.resolve ?? {}),
    listener: options.listener,
  });
  rabbit.start();
  return {
    rabbit,
    flash,
    stop() {
      rabbit.stop();
      http.abortAll();
      scheduler.cancelAll();
    },
  };
}
