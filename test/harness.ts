// A rabbit in virtual time for tests: every service virtual, every output recorded, and a scripted XMPP server
// that expects the rabbit's stanzas one by one and answers them. DIGEST-MD5's server side comes from the lab's one
// copy (host/lab/sasl-digest.ts: written from RFC 2831 on node:crypto, not from the rabbit's code).

import type { Variant } from "../host/core.js";
import type { Profile, QuirkSettings } from "../host/quirks.js";
import { Rabbit, type SaslMechanism } from "../host/rabbit.js";
import { VirtualResolver, type SrvRecord } from "../host/vm/dns.js";
import { Flash } from "../host/vm/flash.js";
import { VirtualHttp, type HttpAnswer } from "../host/vm/http.js";
import { VirtualNetwork, type VirtualNetworkOptions, type VirtualPeer } from "../host/vm/network.js";
import { SecureRandom, VmRandom } from "../host/vm/random.js";
import { VirtualScheduler } from "../host/vm/scheduler.js";

export const MAC = "0019db01dbd7";
export const DOMAIN = "almacska";
export const SERVER_ADDRESS = "10.0.0.1";

export interface Recorded {
  uart: string[];
  reports: { kind: string; text: string; bytes: Uint8Array }[];
  http: string[];
  flashWrites: number;
  reboots: number;
  leds: Map<number, number>;
  /** Everything, one line each with its virtual time (determinism checks). */
  transcript: string[];
}

export interface VirtualRabbitOptions {
  profile?: Profile;
  quirks?: QuirkSettings;
  sasl?: SaslMechanism;
  password?: string;
  mac?: string;
  variant?: Variant;
  network?: VirtualNetworkOptions;
  /** locate.jsp's answer body (default: ping/broad/xmpp_domain for DOMAIN). */
  locate?: string | null;
  srv?: Record<string, SrvRecord[]>;
  addresses?: Record<string, string>;
  rngSeed?: number;
  /** The host's tick mode (Rabbit's default: "due"). */
  ticks?: "every" | "due";
}

export interface VirtualRabbit {
  rabbit: Rabbit;
  scheduler: VirtualScheduler;
  network: VirtualNetwork;
  flash: Flash;
  recorded: Recorded;
  /** Runs virtual time until `until` holds, or `ms` more milliseconds have passed. */
  run(ms: number, until?: () => boolean): void;
}

export function virtualRabbit(options: VirtualRabbitOptions = {}): VirtualRabbit {
  const scheduler = new VirtualScheduler();
  const network = new VirtualNetwork(scheduler, options.network);
  const recorded: Recorded = { uart: [], reports: [], http: [], flashWrites: 0, reboots: 0, leds: new Map(), transcript: [] };
  const log = (line: string) => recorded.transcript.push(`${String(scheduler.now()).padStart(7)} ${line}`);
  const http = new VirtualHttp(scheduler, (url): HttpAnswer => {
    if (url.includes("/locate.jsp")) {
      if (options.locate === null) return { status: 404, body: new Uint8Array() };
      const body = options.locate ?? `ping 127.0.0.1:8080\nbroad 127.0.0.1:8080\nxmpp_domain ${DOMAIN}\n`;
      return { status: 200, body: Buffer.from(body, "latin1") };
    }
    return { status: 200, body: new Uint8Array() };
  });
  const flash = new Flash();
  flash.setServerUrl("127.0.0.1:8080/vl");
  if (options.password) flash.setPassword(options.password);
  flash.writes = 0;
  const rabbit = new Rabbit({
    mac: options.mac ?? MAC,
    profile: options.profile ?? "firmware",
    quirks: options.quirks,
    sasl: options.sasl,
    flash,
    scheduler,
    network,
    http,
    resolver: new VirtualResolver(scheduler, options.addresses ?? { [DOMAIN]: SERVER_ADDRESS }, options.srv ?? {}),
    random: new VmRandom(),
    secure: new SecureRandom(`test-${options.rngSeed ?? 0}`),
    variant: options.variant ?? "debug",
    ticks: options.ticks,
    listener: {
      uart: (line) => {
        recorded.uart.push(line);
        log(`[vm] ${line}`);
      },
      report: (kind, bytes) => {
        const text = Buffer.from(bytes).toString("latin1");
        recorded.reports.push({ kind, text, bytes });
        log(`report ${kind} ${JSON.stringify(text)}`);
      },
      http: (url) => {
        recorded.http.push(url);
        log(`http ${url}`);
      },
      flashWritten: (offset, bytes) => {
        recorded.flashWrites++;
        log(`flash ${offset} ${Buffer.from(bytes).toString("hex")}`);
      },
      rebooting: () => {
        recorded.reboots++;
        log("reboot");
      },
      led: (index, rgb) => recorded.leds.set(index, rgb),
      sent: (handle, bytes) => log(`sent#${handle} ${JSON.stringify(Buffer.from(bytes).toString("latin1"))}`),
      received: (handle, bytes) => log(`received#${handle} ${JSON.stringify(Buffer.from(bytes).toString("latin1"))}`),
      closed: (handle, by) => log(`closed#${handle} by ${by}`),
    },
  });
  return {
    rabbit,
    scheduler,
    network,
    flash,
    recorded,
    run(ms, until = () => false) {
      scheduler.run(until, scheduler.now() + ms);
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// The scripted server

export interface Step {
  /** What the rabbit's next stanza must look like. */
  expect?: RegExp;
  /** The server's answer (or something sent on its own, for a step without `expect`). */
  reply?: string | ((stanza: string, match: RegExpExecArray) => string | undefined);
  /** Close the connection after replying. */
  close?: boolean;
  label?: string;
}

/** Splits what the rabbit sends into top-level pieces: the stream header, then stanzas (lone spaces dropped). */
export class StanzaSplitter {
  private buffer = "";

  push(text: string): string[] {
    this.buffer += text;
    const out: string[] = [];
    for (;;) {
      this.buffer = this.buffer.replace(/^\s+/, "");
      if (this.buffer.length === 0) break;
      const header = /^<\?xml[^>]*\?>\s*<stream:stream[^>]*>\s*/.exec(this.buffer);
      if (header) {
        out.push(header[0]);
        this.buffer = this.buffer.slice(header[0].length);
        continue;
      }
      if (this.buffer.startsWith("</stream:stream>")) {
        out.push("</stream:stream>");
        this.buffer = this.buffer.slice(16);
        continue;
      }
      const end = elementEnd(this.buffer);
      if (end < 0) break;
      out.push(this.buffer.slice(0, end));
      this.buffer = this.buffer.slice(end);
    }
    return out;
  }
}

/** Length of the first complete element of `text`, or -1. Enough XML for what the rabbit writes. */
function elementEnd(text: string): number {
  const tag = /<(\/?)([^\s/>]+)[^>]*?(\/?)>/g;
  let depth = 0;
  let match: RegExpExecArray | null;
  while ((match = tag.exec(text))) {
    if (match[1]) depth--;
    else if (!match[3]) depth++;
    if (depth === 0) return tag.lastIndex;
  }
  return -1;
}

export class ScriptedServer {
  /** Each connection's stanzas from the rabbit, in order. */
  readonly received: string[][] = [];
  readonly failures: string[] = [];
  private step = 0;
  peer: VirtualPeer | undefined;

  constructor(network: VirtualNetwork, private readonly steps: Step[], address = SERVER_ADDRESS, port = 5222) {
    network.listen(address, port, (peer) => {
      this.peer = peer;
      const splitter = new StanzaSplitter();
      const stanzas: string[] = [];
      this.received.push(stanzas);
      peer.onData = (bytes) => {
        for (const stanza of splitter.push(Buffer.from(bytes).toString("latin1"))) {
          stanzas.push(stanza);
          this.onStanza(stanza);
        }
      };
      this.runUnprompted();
    });
  }

  get done(): boolean {
    return this.step >= this.steps.length;
  }

  get position(): string {
    const step = this.steps[this.step];
    return step ? `step ${this.step + 1} (${step.label ?? step.expect?.source ?? "send"})` : "done";
  }

  private onStanza(stanza: string): void {
    const step = this.steps[this.step];
    if (!step) return;
    if (!step.expect) return;
    const match = step.expect.exec(stanza);
    if (!match) {
      this.failures.push(`${this.position}: got ${stanza}`);
      return;
    }
    this.step++;
    this.answer(step, stanza, match);
    this.runUnprompted();
  }

  /** Steps without `expect` are the server speaking first. */
  private runUnprompted(): void {
    for (;;) {
      const step = this.steps[this.step];
      if (!step || step.expect) return;
      this.step++;
      this.answer(step, "", /(?:)/.exec("")!);
    }
  }

  private answer(step: Step, stanza: string, match: RegExpExecArray): void {
    const reply = typeof step.reply === "function" ? step.reply(stanza, match) : step.reply;
    if (reply) this.peer?.write(reply);
    if (step.close) this.peer?.end();
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// DIGEST-MD5, independently (RFC 2831), and the platform's password handling (platform.md §2.3)

import { digestDirectives } from "../host/lab/sasl-digest.js";
export { digestResponse as digest, md5, type DigestInputs } from "../host/lab/sasl-digest.js";
export { hexXor } from "../host/lab/accounts.js";

/** The directives of a DIGEST-MD5 response, as a record. */
export function parseDirectives(plaintext: string): Record<string, string> {
  return Object.fromEntries(digestDirectives(plaintext));
}

export function base64(text: string): string {
  return Buffer.from(text, "latin1").toString("base64");
}

/** Decodes base64 with or without its padding (the firmware drops one '='). */
export function unbase64(text: string): string {
  return Buffer.from(text, "base64").toString("latin1");
}
