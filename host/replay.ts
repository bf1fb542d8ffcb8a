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
import { defaultRegistration, Rabbit, type RegistrationForm } from "./rabbit.js";
import { VirtualResolver } from "./vm/dns.js";
import { Flash } from "./vm/flash.js";
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
}

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
  const entries = parseDebugLog(options.log);
  const expected = expectations(entries);
  const profile = options.profile ?? "firmware";
  const registration = options.registration ?? logRegistrationForm(entries) ?? defaultRegistration(profile);
  const domain = options.domain ?? "almacska";
  const pingServer = options.pingServer ?? `${domain}:3000`;
  const mac = options.mac ?? "f8:1e:df:ee:27:c1";
  const errors: string[] = [];
  const transcript: string[] = [];
  const scheduler = new VirtualScheduler();
  const stamp = () => `${String(scheduler.now()).padStart(7)} ms`;
  let index = 0; // next log entry to satisfy
  let peer: VirtualPeer | undefined;
  let pending = ""; // bytes the rabbit sent that no SEND block has taken yet
  let lastHttpLogged: string | undefined;
  let deliveryScheduled = false;

  const fail = (message: string) => {
    if (errors.length < 20) errors.push(message);
  };

  /** Serves RECEIVE blocks while the log is at one: the rabbit waits for it. */
  const serve = () => {
    if (deliveryScheduled || errors.length > 0) return;
    const entry = expected[index];
    if (!entry || entry.kind !== "receive") return;
    const at = options.times?.get(entry.receive!);
    const delay = at === undefined ? 0 : Math.max(0, at - rabbit.timeMs());
    deliveryScheduled = true;
    scheduler.after(delay, () => {
      deliveryScheduled = false;
      if (!peer) {
        fail(`log line ${entry.line}: the server should speak, but the rabbit has no connection open`);
        return;
      }
      transcript.push(`${stamp()} server ${show(entry.text)}`);
      peer.write(Buffer.from(entry.text, "latin1"));
      index++;
      serve();
    });
  };

  /** Takes what the rabbit sent against the log's SEND blocks. */
  const consumeSends = () => {
    // A lone space between stanzas is the keep-alive, not a block.
    for (;;) {
      if (pending.length === 0 || errors.length > 0) return;
      const trimmed = pending.replace(/^ +/, "");
      if (trimmed.length === 0) {
        pending = "";
        return;
      }
      pending = trimmed;
      const entry = expected[index];
      if (!entry || entry.kind === "receive") {
        fail(`the rabbit sent ${show(pending)} where the log has ${entry ? `the server speak (line ${entry.line})` : "nothing more"}`);
        return;
      }
      if (entry.kind === "vm") {
        fail(`log line ${entry.line}: expected the rabbit to log ${show(entry.text)} before it sent ${show(pending)}`);
        return;
      }
      const want = entry.pretty ? withoutInterTagWhitespace(entry.text) : entry.text;
      const taken = entry.pretty ? matchIgnoringInterTagWhitespace(pending, want) : matchExactly(pending, want);
      if (taken === "partial") return;
      if (taken === "mismatch") {
        let at = 0;
        while (at < want.length && want[at] === pending[at]) at++;
        fail(`log line ${entry.line}: SEND differs from character ${at} on\n  expected ${show(want)}\n  got      ${show(pending.slice(0, want.length + 40))}`);
        return;
      }
      pending = pending.slice(taken);
      index++;
      serve();
    }
  };

  const network = new VirtualNetwork(scheduler);
  const serverAddress = "10.0.0.1";
  network.listen(serverAddress, 5222, (accepted) => {
    peer = accepted;
    pending = "";
    accepted.onData = (bytes) => {
      const text = Buffer.from(bytes).toString("latin1");
      transcript.push(`${stamp()} rabbit ${show(text)}`);
      pending += text;
      consumeSends();
    };
    accepted.onClose = () => transcript.push(`${stamp()} rabbit closed the connection`);
  });

  const http = new VirtualHttp(scheduler, (url) => {
    if (url.includes("/locate.jsp")) {
      return { status: 200, body: Buffer.from(`ping ${pingServer}\nbroad ${pingServer}\nxmpp_domain ${domain}\n`, "latin1") };
    }
    return { status: 200, body: new Uint8Array() };
  });

  const flash = new Flash();
  flash.setServerUrl(`${pingServer}/vl`.slice(0, 40));
  if (options.flashPassword) flash.setPassword(options.flashPassword);

  const rabbit = new Rabbit({
    mac,
    profile,
    registration,
    flash,
    scheduler,
    network,
    http,
    resolver: new VirtualResolver(scheduler, { [domain]: serverAddress }),
    random: new VmRandom(options.rngState),
    secure: new SecureRandom("replay"),
    variant: options.variant,
    listener: {
      uart(line) {
        transcript.push(`${stamp()} [vm] ${line}`);
        if (line.startsWith("HTTPREQUEST url=")) lastHttpLogged = line.slice("HTTPREQUEST url=".length);
        const entry = expected[index];
        if (entry && entry.kind === "vm" && entry.text === line) {
          index++;
          serve();
        }
      },
      http(url) {
        transcript.push(`${stamp()} http GET ${url}`);
        if (url !== lastHttpLogged) fail(`the rabbit requested ${show(url)} but logged ${show(lastHttpLogged ?? "nothing")}`);
        lastHttpLogged = undefined;
      },
      report(kind, payload) {
        transcript.push(`${stamp()} report ${kind} ${show(Buffer.from(payload).toString("latin1"))}`);
      },
      rebooting() {
        transcript.push(`${stamp()} reboot`);
      },
    },
  });

  rabbit.start();
  const limit = options.limitMs ?? 600_000;
  scheduler.run(() => index >= expected.length || errors.length > 0, limit);
  rabbit.stop();

  if (errors.length === 0 && index < expected.length) {
    const entry = expected[index]!;
    fail(`the rabbit stopped short of the log: by ${limit} ms it had not ${entry.kind === "vm" ? `logged ${show(entry.text)}` : entry.kind === "send" ? `sent ${show(entry.text)}` : "waited for the server"} (log line ${entry.line})`);
  }
  return { ok: errors.length === 0, errors, transcript, matched: index, expected: expected.length, registration };
}

export function replayFile(path: string, options: Omit<ReplayOptions, "log">): ReplayResult {
  return replay({ ...options, log: readFileSync(path, "latin1") });
}
