// The web page's view of one rabbit, folded from the rabbit's listener events: what it is doing (a phase said in
// words, derived from its status, state and online reports and the boot and reboot events) and why it stopped doing
// it, its LEDs and ears, and its last stanzas and HTTP calls. Each change goes out as one small event carrying the
// rabbit's id, so a page of one rabbit and a view of a whole fleet read the same stream (events.ts).

import { describeFrame } from "../frames.js";
import { maskSecrets } from "../observe.js";
import type { RabbitListener } from "../rabbit.js";
import { WEB_LOG_ENTRIES_MAX, WEB_STANZA_CHARS_MAX } from "./limits.js";

/** What a rabbit is doing, in the words the page shows. */
export type Phase = "locating" | "connecting" | "registering" | "logging in" | "online" | "disconnected" | "registration error" | "rebooting" | "stopped";

export interface Stanza {
  time: number;
  direction: "in" | "out";
  text: string;
}

export interface HttpCall {
  time: number;
  url: string;
  /** The answer's status, -1 for none; undefined while waiting. */
  status?: number;
  error?: string;
}

export interface RabbitSnapshot {
  /** The MAC address, 12 hex digits: every event about this rabbit carries it. */
  rabbit: string;
  phase: Phase;
  /** The resource it is online as ("boot", "idle", "asleep"), or "" when not online. */
  resource: string;
  jid: string;
  status: string;
  state: string;
  boots: number;
  /** The last error or reboot reason. */
  reason: { time: number; text: string } | null;
  /** Nose, left, middle, right, base, as "#rrggbb". */
  leds: string[];
  /** Positions 0-16. */
  ears: { left: number; right: number };
  /** The ambient nose service (0 off, 1 blink, 2 double blink). */
  nose: number;
  stanzas: Stanza[];
  http: HttpCall[];
}

/**
 * One change, as the event stream carries it: the rabbit's id (none for the lab's events), a kind, and the fields of
 * that kind. Kinds: phase, reason, led, ears, nose (a rabbit's summary); stanza, http, http-answer (its logs); lab,
 * lab-line (the lab's); hello (a stream's first event: a snapshot).
 */
export type WebEvent = { rabbit?: string; kind: string } & Record<string, unknown>;

export interface RabbitViewOptions {
  /** 12 hex digits. */
  mac: string;
  /** The secrets of the moment (the password and its registered form), masked in what the page shows. */
  secrets: () => string[];
}

/** The kinds that are a rabbit's logs: a stream of every rabbit (a fleet view) gets only the summary. */
export const LOG_KINDS: ReadonlySet<string> = new Set(["stanza", "http", "http-answer"]);

const LED_COUNT = 5;
const EARS_STANZA = /<ears xmlns="violet:nabaztag:ears"><left>(\d+)<\/left><right>(\d+)<\/right><\/ears>/;
const EAR_POSITION_MAX = 16;

/** Keeps at most WEB_LOG_ENTRIES_MAX entries, the newest. */
export function pushBounded<T>(list: T[], entry: T): void {
  list.push(entry);
  if (list.length > WEB_LOG_ENTRIES_MAX) list.shift();
}

export class RabbitView {
  private readonly view: RabbitSnapshot;
  private rebooting = false;
  private sink: ((event: WebEvent) => void) | undefined;
  /** The rabbit's events, to combine with the others (combineListeners). */
  readonly listener: RabbitListener;

  constructor(private readonly options: RabbitViewOptions) {
    this.view = {
      rabbit: options.mac, phase: "locating", resource: "", jid: "", status: "booting", state: "ssLogging", boots: 0, reason: null,
      leds: Array.from({ length: LED_COUNT }, () => "#000000"), ears: { left: 0, right: 0 }, nose: 0, stanzas: [], http: [],
    };
    this.listener = this.makeListener();
  }

  get mac(): string {
    return this.options.mac;
  }

  /** Where the changes go from now on (one sink: the web server's event hub). */
  attach(sink: (event: WebEvent) => void): void {
    this.sink = sink;
  }

  /** A copy of the view, for a page that has just connected; without the logs for a view of every rabbit. */
  snapshot(withLogs = true): RabbitSnapshot {
    const v = this.view;
    const logs = withLogs ? { stanzas: [...v.stanzas], http: v.http.map((call) => ({ ...call })) } : { stanzas: [], http: [] };
    return { ...v, reason: v.reason && { ...v.reason }, leds: [...v.leds], ears: { ...v.ears }, ...logs };
  }

  /** The user turned the ears (the page, the keyboard): they move at once, whether or not the stanza goes out now. */
  earsMoved(left: number, right: number): void {
    this.setEars(left, right, "user");
  }

  /** The host stopped the rabbit. */
  stopped(): void {
    this.rebooting = false;
    this.view.status = "stopped";
    this.update();
  }

  private emit(kind: string, fields: Record<string, unknown>): void {
    this.sink?.({ rabbit: this.options.mac, kind, ...fields });
  }

  private mask(text: string): string {
    return maskSecrets(text, this.options.secrets());
  }

  private makeListener(): RabbitListener {
    const latin1 = (bytes: Uint8Array) => Buffer.from(bytes).toString("latin1");
    return {
      report: (kind, payload) => this.report(kind, payload),
      led: (index, rgb) => this.setLed(index, rgb),
      sent: (_handle, bytes) => this.stanza("out", latin1(bytes)),
      received: (_handle, bytes) => this.stanza("in", latin1(bytes)),
      http: (url) => this.httpCall(url),
      httpAnswered: (url, status, error) => this.httpAnswer(url, status, error),
      dnsFailed: (type, name, error) => {
        if (type === "A") this.setReason(`DNS ${type} ${name}: ${error}`);
      },
      booted: (count) => this.booted(count),
      rebooting: () => {
        this.rebooting = true;
        this.view.jid = this.view.resource = "";
        this.update();
      },
    };
  }

  private report(kind: string, payload: Uint8Array): void {
    const text = Buffer.from(payload).toString("latin1");
    const v = this.view;
    switch (kind) {
      case "status":
        v.status = text;
        if (text !== "opened") v.jid = v.resource = "";
        return this.update();
      case "state":
        v.state = text;
        // Opened as "boot", the rabbit asks for its sources before it says it is online.
        if (v.status === "opened" && text === "ssGetSource" && !v.resource) v.resource = "boot";
        return this.update();
      case "online":
        v.jid = text;
        v.resource = text.slice(text.indexOf("/") + 1);
        return this.update();
      case "frame":
        return this.frame(payload);
      case "packet-error":
        return this.setReason(`packet refused: ${text}`);
      case "reboot":
        return this.setReason(`reboot: ${text}`);
      case "error":
        return this.setReason(text);
      default:
        return undefined;
    }
  }

  /** An ambient frame moves the ears and sets the nose; other frames show through the phase (sleep, reboot). */
  private frame(payload: Uint8Array): void {
    const frame = describeFrame(payload);
    if (!("services" in frame)) return;
    let { left, right } = this.view.ears;
    for (const { service, value } of frame.services) {
      if (service === "left ear") left = value;
      else if (service === "right ear") right = value;
      else if (service === "nose" && value !== this.view.nose) {
        this.view.nose = value;
        this.emit("nose", { value });
      }
    }
    this.setEars(left, right, "packet");
  }

  private setEars(left: number, right: number, by: "packet" | "user" | "rabbit"): void {
    const ears = { left: Math.min(left, EAR_POSITION_MAX), right: Math.min(right, EAR_POSITION_MAX) };
    if (ears.left === this.view.ears.left && ears.right === this.view.ears.right) return;
    this.view.ears = ears;
    this.emit("ears", { ...ears, by });
  }

  private setLed(index: number, rgb: number): void {
    if (index < 0 || index >= LED_COUNT) return;
    const colour = `#${(rgb & 0xffffff).toString(16).padStart(6, "0")}`;
    if (this.view.leds[index] === colour) return;
    this.view.leds[index] = colour;
    this.emit("led", { index, rgb: colour });
  }

  private stanza(direction: "in" | "out", raw: string): void {
    // The rabbit's own ears stanza (keyboard, signal, page) says where it turned them.
    if (direction === "out" && raw.includes("<ears")) {
      const match = EARS_STANZA.exec(raw);
      if (match) this.setEars(Number(match[1]), Number(match[2]), "rabbit");
    }
    const cut = raw.length > WEB_STANZA_CHARS_MAX ? `${raw.slice(0, WEB_STANZA_CHARS_MAX)}…` : raw;
    const entry: Stanza = { time: Date.now(), direction, text: this.mask(cut) };
    pushBounded(this.view.stanzas, entry);
    this.emit("stanza", { ...entry });
  }

  private httpCall(url: string): void {
    const call: HttpCall = { time: Date.now(), url: this.mask(url) };
    pushBounded(this.view.http, call);
    this.emit("http", { ...call });
  }

  private httpAnswer(url: string, status: number, error: string | undefined): void {
    const masked = this.mask(url);
    let call: HttpCall | undefined;
    for (let i = this.view.http.length - 1; i >= 0 && !call; i--) {
      const entry = this.view.http[i]!;
      if (entry.url === masked && entry.status === undefined) call = entry;
    }
    if (call) {
      call.status = status;
      if (error) call.error = error;
    }
    this.emit("http-answer", { url: masked, status, ...(error ? { error } : {}) });
    if (error) this.setReason(`GET ${masked}: ${error}`);
  }

  private booted(count: number): void {
    const v = this.view;
    this.rebooting = false;
    Object.assign(v, { boots: count, status: "booting", state: "ssLogging", jid: "", resource: "" });
    this.update();
  }

  private setReason(text: string): void {
    this.view.reason = { time: Date.now(), text: this.mask(text) };
    this.emit("reason", { ...this.view.reason });
  }

  /** The phase from the status and state; one event with everything that says it. */
  private update(): void {
    const v = this.view;
    v.phase = phaseOf(v.status, v.state, this.rebooting);
    this.emit("phase", { phase: v.phase, resource: v.resource, jid: v.jid, status: v.status, state: v.state, boots: v.boots });
  }
}

/** The phase a status and state mean (assembly/xmpp/client.ts sets them; STATUS_NAMES, STATE_NAMES). */
export function phaseOf(status: string, state: string, rebooting: boolean): Phase {
  if (rebooting) return "rebooting";
  switch (status) {
    case "booting":
      return "locating";
    case "opening":
      return state === "ssRegister1" || state === "ssRegister2" ? "registering" : "connecting";
    case "logging":
    case "loggedin":
      return "logging in";
    case "opened":
      return "online";
    case "closed":
      return "disconnected";
    case "registration-error":
      return "registration error";
    default:
      return "stopped";
  }
}
