// `nabaztag-vm replay LOG`: plays a debug log in the seed's format against a rabbit, in virtual time. The log's
// RECEIVE blocks are what the server says, each sent when the rabbit waits for it (or at the time --time gives);
// every SEND block, every [vm] line and every HTTP request the rabbit makes is checked against the log, in order:
//   - SEND blocks must come in the log's order, exactly (whitespace between tags aside where the capturer
//     pretty-printed the block; a lone space, the rabbit's keep-alive, is not a block);
//   - the log's [vm] lines must appear among the rabbit's, in order, each before the log's next SEND (the rabbit
//     writes more lines than the abridged seed shows, spec §12);
//   - each HTTP request must be the URL the rabbit logged just before it ("HTTPREQUEST url=...").

import { readFileSync } from "node:fs";
import { blockIsPrettyPrinted, blockWireText, parseDebugLog, withoutInterTagWhitespace, type LogEntry } from "./debug-log.js";
import type { Variant } from "./core.js";
import type { Profile } from "./quirks.js";
import { defaultRegistration, Rabbit, type RabbitListener, type RegistrationForm } from "./rabbit.js";
import { VirtualResolver } from "./vm/dns.js";
import { Flash, FLASH_SERVER_URL_SIZE } from "./vm/flash.js";
import { VirtualHttp } from "./vm/http.js";
import { VirtualNetwork, type VirtualPeer } from "./vm/network.js";
import { SecureRandom, VmRandom } from "./vm/random.js";
import { VirtualScheduler } from "./vm/scheduler.js";

export interface ReplayOptions {
  log: string;
  profile?: Profile;
  mac?: string;
  domain?: string;
  /** "host:port" the locate.jsp answer names as `ping` (the base of sendMailXMPP). */
  pingServer?: string;
  flashPassword?: string;
  /** The VM generator's state at boot, instead of the program's srand(time_ms). */
  rngState?: number;
  /** RECEIVE block number (1-based) → delivery time in ms after boot. */
  times?: Map<number, number>;
  variant?: Variant;
  /** Virtual time after which a rabbit that stopped short of the log's end is given up on. */
  limitMs?: number;
  /** The registration form; default: the one the log's SEND blocks show (logRegistrationForm). */
  registration?: RegistrationForm;
  /** The host's tick mode: "every" by default (the VM's loop, which the port kit records); "due" must give the same. */
  ticks?: "every" | "due";
}

/**
 * The founding log's settings (reference/seed): what README's "Reproduce the founding log exactly" command line passes
 * (--profile firmware --mac f8:1e:df:ee:27:c1 --domain almacska --ping-server almacska:3000 --flash-password
 * ce6d760e8d8c --rng-state 0 --time 5=20111). The replay test and the port kit's recording use these.
 */
export const SEED_REPLAY_OPTIONS: Readonly<Omit<ReplayOptions, "log">> = {
  profile: "firmware",
  mac: "f8:1e:df:ee:27:c1",
  domain: "almacska",
  pingServer: "almacska:3000",
  flashPassword: "ce6d760e8d8c",
  rngState: 0,
  times: new Map([[5, 20111]]),
};

/**
 * The registration form a log shows in what the rabbit sent: violet:iq:register is the stock form, a register set
 * with <name> the seed's patched build, any other jabber:iq:register the published binary. Undefined: no
 * registration in the log.
 */
export function logRegistrationForm(entries: LogEntry[]): RegistrationForm | undefined {
  let form: RegistrationForm | undefined;
  for (const entry of entries) {
    if (entry.type !== "send") continue;
    const text = blockWireText(entry);
    if (/violet:iq:register/.test(text)) return "stock";
    if (/jabber:iq:register/.test(text)) form = /<name>/.test(withoutInterTagWhitespace(text)) ? "seed" : (form ?? "binary");
  }
  return form;
}

export interface ReplayResult {
  ok: boolean;
  /** What differed, with the log line and what the rabbit did instead. */
  errors: string[];
  /** Everything that happened, one line each with its virtual time: the same inputs give the same transcript. */
  transcript: string[];
  /** Log entries matched, of those to match. */
  matched: number;
  expected: number;
  /** The registration form the rabbit used. */
  registration: RegistrationForm;
}

interface Expected {
  kind: "send" | "vm" | "receive";
  line: number;
  text: string;
  pretty: boolean;
  /** RECEIVE: its number among the log's RECEIVE blocks (1-based). */
  receive?: number;
}

function expectations(entries: LogEntry[]): Expected[] {
  let receives = 0;
  return entries.map((entry) => {
    if (entry.type === "vm") return { kind: "vm", line: entry.line, text: entry.text, pretty: false };
    const receive = entry.type === "receive" ? ++receives : undefined;
    return { kind: entry.type, line: entry.line, text: blockWireText(entry), pretty: blockIsPrettyPrinted(entry), receive };
  });
}

/** How much of `raw` is the block `want` (exactly); "partial" if raw is a prefix of it. */
function matchExactly(raw: string, want: string): number | "partial" | "mismatch" {
  if (raw.length < want.length) return want.startsWith(raw) ? "partial" : "mismatch";
  return raw.startsWith(want) ? want.length : "mismatch";
}

/**
 * How much of `raw` is the block `want` (given without whitespace between tags) when whitespace between tags in
 * `raw` does not count either; "partial" if raw may still become it.
 */
function matchIgnoringInterTagWhitespace(raw: string, want: string): number | "partial" | "mismatch" {
  let i = 0;
  for (let j = 0; j < want.length; ) {
    if (i >= raw.length) return "partial";
    if (/\s/.test(raw[i]!) && i > 0 && raw[i - 1] === ">") {
      let k = i;
      while (k < raw.length && /\s/.test(raw[k]!)) k++;
      if (k >= raw.length) return "partial";
      if (raw[k] === "<") {
        i = k;
        continue;
      }
    }
    if (raw[i] !== want[j]) return "mismatch";
    i++;
    j++;
  }
  return i;
}

function show(text: string): string {
  return JSON.stringify(text.length > 400 ? `${text.slice(0, 400)}...` : text);
}

export function replay(options: ReplayOptions): ReplayResult {
  return new Replay(options).run();
}

/** One replay: the log's entries as a cursor (`index`), the virtual world, and what went wrong. */
class Replay {
  private readonly expected: Expected[];
  private readonly registration: RegistrationForm;
  private readonly errors: string[] = [];
  private readonly transcript: string[] = [];
  private readonly scheduler = new VirtualScheduler();
  private readonly rabbit: Rabbit;
  /** The next log entry to satisfy. */
  private index = 0;
  private peer: VirtualPeer | undefined;
  /** Bytes the rabbit sent that no SEND block has taken yet. */
  private pending = "";
  private lastHttpLogged: string | undefined;
  private deliveryScheduled = false;

  constructor(private readonly options: ReplayOptions) {
    const entries = parseDebugLog(options.log);
    this.expected = expectations(entries);
    const profile = options.profile ?? "firmware";
    this.registration = options.registration ?? logRegistrationForm(entries) ?? defaultRegistration(profile);
    this.rabbit = this.makeRabbit(profile);
  }

  run(): ReplayResult {
    const limit = this.options.limitMs ?? 600_000;
    this.rabbit.start();
    this.scheduler.run(() => this.index >= this.expected.length || this.errors.length > 0, limit);
    this.rabbit.stop();
    if (this.errors.length === 0 && this.index < this.expected.length) {
      const entry = this.expected[this.index]!;
      const what = entry.kind === "vm" ? `logged ${show(entry.text)}` : entry.kind === "send" ? `sent ${show(entry.text)}` : "waited for the server";
      this.fail(`the rabbit stopped short of the log: by ${limit} ms it had not ${what} (log line ${entry.line})`);
    }
    const { errors, transcript, index, registration } = this;
    return { ok: errors.length === 0, errors, transcript, matched: index, expected: this.expected.length, registration };
  }

  private stamp(): string {
    return `${String(this.scheduler.now()).padStart(7)} ms`;
  }

  private fail(message: string): void {
    if (this.errors.length < 20) this.errors.push(message);
  }

  /** The rabbit on a virtual network, DNS, HTTP (locate.jsp as the log's platform answered) and flash. */
  private makeRabbit(profile: Profile): Rabbit {
    const options = this.options;
    const domain = options.domain ?? "almacska";
    const pingServer = options.pingServer ?? `${domain}:3000`;
    const serverAddress = "10.0.0.1";
    const network = new VirtualNetwork(this.scheduler);
    network.listen(serverAddress, 5222, (accepted) => this.accept(accepted));
    const http = new VirtualHttp(this.scheduler, (url) => {
      if (!url.includes("/locate.jsp")) return { status: 200, body: new Uint8Array() };
      return { status: 200, body: Buffer.from(`ping ${pingServer}\nbroad ${pingServer}\nxmpp_domain ${domain}\n`, "latin1") };
    });
    const flash = new Flash();
    flash.setServerUrl(`${pingServer}/vl`.slice(0, FLASH_SERVER_URL_SIZE));
    if (options.flashPassword) flash.setPassword(options.flashPassword);
    return new Rabbit({
      mac: options.mac ?? "f8:1e:df:ee:27:c1",
      profile,
      registration: this.registration,
      flash,
      scheduler: this.scheduler,
      network,
      http,
      resolver: new VirtualResolver(this.scheduler, { [domain]: serverAddress }),
      random: new VmRandom(options.rngState),
      secure: new SecureRandom("replay"),
      variant: options.variant,
      // The VM's own loop, tick by tick, unless asked: what the port kit records and its C host replays.
      ticks: options.ticks ?? "every",
      listener: this.listener(),
    });
  }

  private listener(): RabbitListener {
    return {
      uart: (line) => this.onUart(line),
      http: (url) => {
        this.transcript.push(`${this.stamp()} http GET ${url}`);
        if (url !== this.lastHttpLogged) this.fail(`the rabbit requested ${show(url)} but logged ${show(this.lastHttpLogged ?? "nothing")}`);
        this.lastHttpLogged = undefined;
      },
      report: (kind, payload) => this.transcript.push(`${this.stamp()} report ${kind} ${show(Buffer.from(payload).toString("latin1"))}`),
      rebooting: () => this.transcript.push(`${this.stamp()} reboot`),
    };
  }

  private accept(accepted: VirtualPeer): void {
    this.peer = accepted;
    this.pending = "";
    accepted.onData = (bytes) => {
      const text = Buffer.from(bytes).toString("latin1");
      this.transcript.push(`${this.stamp()} rabbit ${show(text)}`);
      this.pending += text;
      this.consumeSends();
    };
    accepted.onClose = () => this.transcript.push(`${this.stamp()} rabbit closed the connection`);
  }

  private onUart(line: string): void {
    this.transcript.push(`${this.stamp()} [vm] ${line}`);
    if (line.startsWith("HTTPREQUEST url=")) this.lastHttpLogged = line.slice("HTTPREQUEST url=".length);
    const entry = this.expected[this.index];
    if (entry && entry.kind === "vm" && entry.text === line) {
      this.index++;
      this.serve();
    }
  }

  /** Serves RECEIVE blocks while the log is at one: the rabbit waits for it. */
  private serve(): void {
    if (this.deliveryScheduled || this.errors.length > 0) return;
    const entry = this.expected[this.index];
    if (!entry || entry.kind !== "receive") return;
    const at = this.options.times?.get(entry.receive!);
    const delay = at === undefined ? 0 : Math.max(0, at - this.rabbit.timeMs());
    this.deliveryScheduled = true;
    this.scheduler.after(delay, () => {
      this.deliveryScheduled = false;
      if (!this.peer) {
        this.fail(`log line ${entry.line}: the server should speak, but the rabbit has no connection open`);
        return;
      }
      this.transcript.push(`${this.stamp()} server ${show(entry.text)}`);
      this.peer.write(Buffer.from(entry.text, "latin1"));
      this.index++;
      this.serve();
    });
  }

  /** Takes what the rabbit sent against the log's SEND blocks; a lone space between stanzas is the keep-alive. */
  private consumeSends(): void {
    while (this.pending.length > 0 && this.errors.length === 0) {
      this.pending = this.pending.replace(/^ +/, "");
      if (this.pending.length === 0 || !this.takeSend()) return;
      this.index++;
      this.serve();
    }
  }

  /** Whether the pending bytes begin with the SEND block the log is at (false: wait for more, or a mismatch). */
  private takeSend(): boolean {
    const { pending } = this;
    const entry = this.expected[this.index];
    if (!entry || entry.kind === "receive") {
      this.fail(`the rabbit sent ${show(pending)} where the log has ${entry ? `the server speak (line ${entry.line})` : "nothing more"}`);
      return false;
    }
    if (entry.kind === "vm") {
      this.fail(`log line ${entry.line}: expected the rabbit to log ${show(entry.text)} before it sent ${show(pending)}`);
      return false;
    }
    const want = entry.pretty ? withoutInterTagWhitespace(entry.text) : entry.text;
    const taken = entry.pretty ? matchIgnoringInterTagWhitespace(pending, want) : matchExactly(pending, want);
    if (taken === "partial") return false;
    if (taken === "mismatch") {
      let at = 0;
      while (at < want.length && want[at] === pending[at]) at++;
      this.fail(`log line ${entry.line}: SEND differs from character ${at} on\n  expected ${show(want)}\n  got      ${show(pending.slice(0, want.length + 40))}`);
      return false;
    }
    this.pending = pending.slice(taken);
    return true;
  }
}

export function replayFile(path: string, options: Omit<ReplayOptions, "log">): ReplayResult {
  return replay({ ...options, log: readFileSync(path, "latin1") });
}
