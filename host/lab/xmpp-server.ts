// The lab platform's XMPP server: a server speaking the rabbit's dialect (platform.md §2) and plain XMPP enough for
// the standard profile. In-band registration (the firmware's XORed password undone), SASL DIGEST-MD5 with the
// rspauth round (tolerant of the NUL cnonce and the short base64), several resources on one stream including the
// malformed first `from`, session, the platform's answer to the sources query, presence echo, unbind. For demos and
// tests on loopback, not for production: no TLS, no roster, no routing between users.
//
// Wire rules toward a firmware rabbit (its reader is a substring matcher): the header and the features in one
// write; no whitespace between stanzas; one stanza per write; end tags rather than self-closing stanzas.

import { randomBytes, randomInt } from "node:crypto";
import { createServer, type Server } from "node:net";
import { Element, escapeXML } from "ltx";
import { Accounts } from "./accounts.js";
import type { LabEvent, LabPeer, LabServerSide } from "./lab-peer.js";
import { ConnectionDeadlines, nodeLabSocket, realTimers, virtualLabSocket, type LabSocket, type LabTimers } from "./lab-socket.js";
import * as limits from "./limits.js";
import type { VirtualPeer } from "../vm/network.js";
import { OjnConnection } from "./openjabnab-connection.js";
import { OjnMachine, strictNote, type OjnOutcome, type OjnPlatform } from "./openjabnab.js";
import { initPacket } from "./packets.js";
import { LAB_SASL_DEFAULT, mechanismsProblem, startExchange, type LabSaslMechanism } from "./sasl.js";
import type { SaslCondition, SaslContext, SaslExchange } from "./sasl-common.js";
import { ScramStore } from "./scram-store.js";
import { XmlStreamReader } from "./xml-stream.js";
import { listenOn } from "../listen.js";

const NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl";
const NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind";
const NS_SESSION = "urn:ietf:params:xml:ns:xmpp-session";
const NS_PING = "urn:xmpp:ping";
const REGISTER_NAMESPACES = ["jabber:iq:register", "violet:iq:register"];

export type { LabEvent, LabPeer } from "./lab-peer.js";

/**
 * tolerant: accepts every registration form and SASL variant, says where a strict platform would refuse.
 * openjabnab: accepts exactly what OpenJabNab accepts and fails as it fails (openjabnab.ts).
 */
export const LAB_DIALECTS = ["tolerant", "openjabnab"] as const;
export type LabDialect = (typeof LAB_DIALECTS)[number];

/** The bounds of limits.ts, as one object (tests and fleets may change them). */
export interface LabXmppLimits {
  stanzaBytesMax: number;
  textCharsMax: number;
  depthMax: number;
  readBytesMax: number;
  connectionsMax: number;
  connectionsPerAddressMax: number;
  loginMs: number;
  idleMs: number;
}

export const LAB_XMPP_LIMITS: LabXmppLimits = {
  stanzaBytesMax: limits.LAB_STANZA_BYTES_MAX,
  textCharsMax: limits.LAB_TEXT_CHARS_MAX,
  depthMax: limits.LAB_DEPTH_MAX,
  readBytesMax: limits.LAB_READ_BYTES_MAX,
  connectionsMax: limits.LAB_CONNECTIONS_MAX,
  connectionsPerAddressMax: limits.LAB_CONNECTIONS_PER_ADDRESS_MAX,
  loginMs: limits.LAB_LOGIN_DEADLINE_MS,
  idleMs: limits.LAB_IDLE_TIMEOUT_MS,
};

export interface LabXmppOptions {
  domain: string;
  accounts: Accounts;
  dialect?: LabDialect;
  onEvent?: (event: LabEvent) => void;
  limits?: Partial<LabXmppLimits>;
  /** Real timers by default; the virtual lab gives the scheduler's. */
  timers?: LabTimers;
  /** Milliseconds now (Date.now by default; the virtual lab gives the scheduler's clock). */
  now?: () => number;
  /** A number in [0, 1) for nonces and stream ids (crypto by default; simulations give a seeded one). */
  random?: () => number;
  /**
   * The SASL mechanisms the tolerant dialect offers, in this order (default LAB_SASL_DEFAULT: DIGEST-MD5 alone, the
   * firmware's). The openjabnab dialect offers what OpenJabNab offers, whatever this says.
   */
  mechanisms?: readonly LabSaslMechanism[];
}

/** Where the virtual lab listens: anything that accepts virtual peers (the VirtualNetwork, the simulator's). */
export interface VirtualListener {
  listen(address: string, port: number, accept: (peer: VirtualPeer) => void): void;
}

export class LabXmppServer implements LabServerSide {
  private readonly server: Server;
  private readonly extraServers: Server[] = [];
  private readonly connections = new Set<LabPeer>();
  private readonly perAddress = new Map<string, number>();
  /** When each rabbit's last login or registration failed here. */
  private readonly failedAt = new Map<string, number>();
  readonly limits: LabXmppLimits;
  readonly timers: LabTimers;
  /** The tolerant dialect's SASL mechanisms, in the order offered. */
  readonly mechanisms: readonly LabSaslMechanism[];
  /** What the mechanisms need of the lab (sasl-common.ts). */
  readonly sasl: SaslContext;

  /** Throws on `mechanisms` that are not a list of known ones (a programming error; the CLI checks first). */
  constructor(readonly options: LabXmppOptions) {
    this.limits = { ...LAB_XMPP_LIMITS, ...options.limits };
    this.timers = options.timers ?? realTimers;
    const problem = options.mechanisms ? mechanismsProblem(options.mechanisms) : undefined;
    if (problem) throw new Error(`SASL mechanisms: ${problem}`);
    this.mechanisms = [...(options.mechanisms ?? LAB_SASL_DEFAULT)];
    this.sasl = {
      domain: options.domain,
      accounts: options.accounts,
      random: () => this.random(),
      randomBytes: (length) => (options.random ? Buffer.from(Array.from({ length }, () => this.randomBelow(256))) : randomBytes(length)),
      scram: new ScramStore(),
    };
    this.server = createServer((socket) => this.accept(nodeLabSocket(socket)));
  }

  /** A rabbit connected (real TCP or the virtual network); turned away beyond the connection limits. */
  accept(socket: LabSocket): void {
    const fromAddress = this.perAddress.get(socket.address) ?? 0;
    const over = this.connections.size >= this.limits.connectionsMax ? `${this.limits.connectionsMax} connections already`
      : fromAddress >= this.limits.connectionsPerAddressMax ? `${this.limits.connectionsPerAddressMax} connections from ${socket.address} already` : undefined;
    if (over) {
      this.emit({ type: "limit", remote: socket.remote, reason: `connection refused: ${over}` });
      socket.destroy();
      return;
    }
    this.perAddress.set(socket.address, fromAddress + 1);
    const connection = this.dialect === "openjabnab" ? new OjnConnection(this, socket) : new LabConnection(this, socket);
    this.connections.add(connection);
    socket.onClosed(() => {
      this.connections.delete(connection);
      const left = (this.perAddress.get(socket.address) ?? 1) - 1;
      if (left > 0) this.perAddress.set(socket.address, left);
      else this.perAddress.delete(socket.address);
    });
  }

  /** A connection's deadlines (login, then silence), closing it with a "limit" event when one passes. */
  deadlines(socket: LabSocket, mac: () => string | undefined, close: () => void): ConnectionDeadlines {
    return new ConnectionDeadlines(this.timers, this.limits, (reason) => {
      this.emit({ type: "limit", mac: mac(), remote: socket.remote, reason: `closed: ${reason}` });
      close();
    });
  }

  /** XMPP connections open now. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Serves on a virtual network too (in-process simulations and tests, on virtual time). */
  listenVirtual(network: VirtualListener, address: string, port: number): void {
    network.listen(address, port, (peer) => this.accept(virtualLabSocket(peer)));
  }

  get dialect(): LabDialect {
    return this.options.dialect ?? "tolerant";
  }

  listen(port: number, host = "127.0.0.1"): Promise<number> {
    return listenOn(this.server, port, host);
  }

  /**
   * One more port for the same server (a fleet: each client address talks to each server port through its own
   * ~28,000 ephemeral ports, so tens of thousands of rabbits on loopback need several).
   */
  listenAlso(port: number, host = "127.0.0.1"): Promise<number> {
    const server = createServer((socket) => this.accept(nodeLabSocket(socket)));
    this.extraServers.push(server);
    return listenOn(server, port, host);
  }

  close(): Promise<void> {
    for (const connection of this.connections) connection.destroy();
    const servers = [this.server, ...this.extraServers];
    return Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())))).then(() => undefined);
  }

  /** A number in [0, 1): the lab's randomness. */
  random(): number {
    return this.options.random ? this.options.random() : randomInt(0x40000000) / 0x40000000;
  }

  /** A whole number in [0, below). */
  randomBelow(below: number): number {
    return Math.floor(this.random() * below);
  }

  emit(event: LabEvent): void {
    if (event.type === "login-failed" || event.type === "register-refused") {
      // Newest last; the oldest forgotten beyond the bound (any client can fail a login under any name).
      this.failedAt.delete(event.mac);
      this.failedAt.set(event.mac, this.now());
      if (this.failedAt.size > limits.LAB_FAILURES_TRACKED_MAX) this.failedAt.delete(this.failedAt.keys().next().value!);
    }
    if (event.type === "login") this.failedAt.delete(event.mac);
    this.options.onEvent?.(event);
  }

  now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** How long ago this rabbit's last login or registration failed here (undefined: none since its last login). */
  sinceFailure(mac: string): number | undefined {
    const at = this.failedAt.get(mac);
    return at === undefined ? undefined : this.now() - at;
  }

  /** The connection a rabbit is logged in on now, if any. */
  connectionOf(mac: string): LabPeer | undefined {
    let found: LabPeer | undefined;
    for (const connection of this.connections) if (connection.mac === mac && connection.resource) found = connection;
    return found;
  }

  /** Rabbits online now: MAC and the resource they are bound to. */
  online(): { mac: string; resource: string; jid: string }[] {
    const out: { mac: string; resource: string; jid: string }[] = [];
    for (const connection of this.connections) {
      if (connection.mac && connection.resource) out.push({ mac: connection.mac, resource: connection.resource, jid: connection.jid(connection.resource) });
    }
    return out;
  }

  /** Sends a violet:packet to a connected rabbit (as OpenJabNab does: a message to its current resource). */
  sendPacket(mac: string, payload: Buffer): boolean {
    const connection = this.connectionOf(mac);
    if (!connection) return false;
    connection.sendPacket(payload);
    return true;
  }
}

class LabConnection implements LabPeer {
  mac: string | undefined;
  /** The resource bound last (the rabbit's current one). */
  resource: string | undefined;
  /** OpenJabNab's machine run beside this one, to say where a strict platform would refuse; gone once it would close. */
  private shadow: OjnMachine | undefined;
  private shadowOutcome: OjnOutcome | undefined;
  private shadowChunk = "";
  private readonly notes = new Set<string>();
  private authenticated = false;
  /** The SASL exchange under way, and its mechanism. */
  private exchange: SaslExchange | undefined;
  private mechanism = "";
  /** The client's credentials are proved (DIGEST-MD5's rspauth out, or a success), until a failure or a new <auth>. */
  private verified = false;
  private readonly reader: XmlStreamReader;
  private closed = false;
  private packetId = 0;

  private readonly deadlines: ConnectionDeadlines;

  constructor(private readonly lab: LabXmppServer, private readonly socket: LabSocket) {
    lab.emit({ type: "connected", remote: socket.remote });
    this.deadlines = lab.deadlines(socket, () => this.mac, () => this.destroy());
    this.reader = new XmlStreamReader({
      header: () => this.onHeader(),
      stanza: (element) => this.onStanza(element),
      end: () => this.streamEnd(),
      error: (message, limit) => this.streamError(message, limit),
    }, lab.limits);
    this.shadow = new OjnMachine(shadowPlatform(lab.options.domain, lab.options.accounts), () => lab.random());
    socket.onData((data: Buffer) => {
      this.deadlines.activity();
      this.shadowFeed(data.toString("latin1"));
      this.reader.write(data);
      // A read this dialect refused too (closed) is no news.
      if (!this.closed) this.shadowNote();
    });
    socket.onClosed(() => {
      this.deadlines.stop();
      if (!this.closed) lab.emit({ type: "disconnected", mac: this.mac });
      this.closed = true;
    });
  }

  private get domain(): string {
    return this.lab.options.domain;
  }

  /** OpenJabNab's view of the same read, before this dialect answers it. */
  private shadowFeed(chunk: string): void {
    this.shadowChunk = chunk;
    this.shadowOutcome = this.shadow?.feed(chunk);
    if (this.shadowOutcome?.close) this.shadow = undefined;
  }

  /** After this dialect answered: a note where OpenJabNab would have refused what this one accepted. */
  private shadowNote(): void {
    const outcome = this.shadowOutcome;
    this.shadowOutcome = undefined;
    if (!outcome) return;
    // A login both refuse is no news; one this dialect took (an rspauth is out) and OpenJabNab refuses is.
    const refusedHere = outcome.events.some((event) => event.type === "login-failed") && !this.verified;
    const note = refusedHere ? undefined : strictNote(this.shadowChunk, outcome);
    if (!note || this.notes.has(note)) return;
    this.notes.add(note);
    this.lab.emit({ type: "strict-note", mac: this.mac, note });
  }

  jid(resource: string): string {
    return `${this.mac}@${this.domain}/${resource}`;
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.deadlines.stop();
    this.lab.emit({ type: "disconnected", mac: this.mac });
    this.socket.destroy();
  }

  /**
   * The client closed its stream: the lab closes its own, then the connection (RFC 6120 §4.4; a standard client
   * such as xmpp.js waits for it, and reconnects when it does not come). A rabbit never reads it: the firmware does
   * not close its stream, the standard profile closes its socket right after its closing tag.
   */
  private streamEnd(): void {
    this.write("</stream:stream>");
    this.destroy();
  }

  /** Bad XML or a bound passed: a stream error (RFC 6120 §4.9) and the connection closed. */
  private streamError(message: string, limit: boolean): void {
    if (limit) this.lab.emit({ type: "limit", mac: this.mac, remote: this.socket.remote, reason: `closed: ${message}` });
    const condition = limit ? "policy-violation" : "not-well-formed";
    this.write(`<stream:error><${condition} xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>`);
    this.destroy();
  }

  private write(text: string): void {
    if (!this.closed) this.socket.write(Buffer.from(text, "utf8"));
  }

  private onHeader(): void {
    const id = String(1e9 + this.lab.randomBelow(3e9));
    const header = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='${id}' from='${escapeXML(this.domain)}' version='1.0' xml:lang='en'>`;
    const features = this.authenticated
      ? `<stream:features><bind xmlns='${NS_BIND}'><required/></bind><unbind xmlns='${NS_BIND}'/><session xmlns='${NS_SESSION}'/></stream:features>`
      : `<stream:features><mechanisms xmlns='${NS_SASL}'>${this.lab.mechanisms.map((name) => `<mechanism>${name}</mechanism>`).join("")}</mechanisms><register xmlns='http://jabber.org/features/iq-register'/></stream:features>`;
    // One write: the firmware needs the header within a single read.
    this.write(header + features);
  }

  private onStanza(element: Element): void {
    if (!this.authenticated) {
      if (element.is("iq")) this.onRegistration(element);
      else if (element.name === "auth") this.onAuth(element);
      else if (element.name === "response") this.onResponse(element);
      else if (element.name === "abort") this.onAbort();
      return;
    }
    if (element.name === "iq") this.onIq(element);
    else if (element.name === "presence") this.onPresence(element);
    else if (element.name === "message") this.onMessage(element);
  }

  // -------------------------------------------------------------------------------------------------------------------
  // Registration (platform.md §2.3)

  private onRegistration(iq: Element): void {
    const query = iq.getChildElements().find((child) => child.name === "query" && REGISTER_NAMESPACES.includes(child.attrs.xmlns ?? ""));
    const id = escapeXML(iq.attrs.id ?? "");
    if (!query) {
      this.write(`<iq id='${id}' type='error'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`);
      return;
    }
    const ns = query.attrs.xmlns!;
    if (iq.attrs.type === "get") {
      this.write(`<iq from='${escapeXML(this.domain)}' id='${id}' type='result'><query xmlns='${ns}'><instructions>Choose a username and password to register with this server</instructions><username/><password/></query></iq>`);
      return;
    }
    const username = query.getChildText("username") ?? "";
    const sent = query.getChildText("password") ?? "";
    if (!/^[0-9a-f]{12}$/.test(username) || sent.length === 0) {
      this.write(`<iq from='${escapeXML(this.domain)}' id='${id}' type='error'><error type='modify'><not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`);
      return;
    }
    if (!this.lab.options.accounts.register(username, sent)) {
      // Store only if none is stored: a conflict makes the rabbit report FailureRegister2, which clears it.
      this.lab.emit({ type: "register-refused", mac: username });
      this.write(`<iq from='${escapeXML(this.domain)}' id='${id}' type='error'><error type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`);
      return;
    }
    this.lab.emit({ type: "registered", mac: username });
    this.write(`<iq from='${escapeXML(this.domain)}' id='${id}' type='result'></iq>`);
  }

  // -------------------------------------------------------------------------------------------------------------------
  // SASL (platform.md §2.4): the mechanism's exchange (sasl.ts) decides, this moves its messages

  private onAuth(auth: Element): void {
    this.verified = false;
    this.exchange = startExchange(auth.attrs.mechanism ?? "", this.lab.mechanisms, this.lab.sasl);
    if (!this.exchange) {
      this.write(`<failure xmlns='${NS_SASL}'><invalid-mechanism/></failure>`);
      return;
    }
    this.mechanism = auth.attrs.mechanism!;
    this.saslStep(auth.getText());
  }

  private onResponse(response: Element): void {
    if (!this.exchange) {
      this.fail("not-authorized", "response without a challenge");
      return;
    }
    this.saslStep(response.getText());
  }

  private onAbort(): void {
    this.exchange = undefined;
    this.verified = false;
    this.write(`<failure xmlns='${NS_SASL}'><aborted/></failure>`);
  }

  private saslStep(text: string): void {
    const step = this.exchange!.step(text);
    if (step.mac !== undefined) this.mac = step.mac;
    if (step.kind === "challenge") {
      if (step.verified) this.verified = true;
      this.write(`<challenge xmlns='${NS_SASL}'>${step.data.toString("base64")}</challenge>`);
      return;
    }
    if (step.kind === "failure") {
      this.fail(step.condition, step.reason);
      return;
    }
    this.exchange = undefined;
    this.verified = true;
    this.authenticated = true;
    this.deadlines.login();
    this.lab.options.accounts.confirm(step.mac, step.password);
    this.lab.emit({ type: "login", mac: step.mac, mechanism: this.mechanism });
    this.write(step.data ? `<success xmlns='${NS_SASL}'>${step.data.toString("base64")}</success>` : `<success xmlns='${NS_SASL}'/>`);
    this.reader.reset();
  }

  /** Refused; the connection stays (a rabbit reports FailureLogin and reconnects later; a client may try again). */
  private fail(condition: SaslCondition, reason: string): void {
    this.exchange = undefined;
    this.verified = false;
    this.lab.emit({ type: "login-failed", mac: this.mac ?? "?", reason });
    this.write(`<failure xmlns='${NS_SASL}'><${condition}/></failure>`);
  }

  // -------------------------------------------------------------------------------------------------------------------
  // After login (platform.md §2.5)

  private onIq(iq: Element): void {
    const id = escapeXML(iq.attrs.id ?? "");
    const type = iq.attrs.type;
    if (type === "result" || type === "error") return;
    const bind = iq.getChild("bind", NS_BIND);
    if (type === "set" && bind) {
      // The `from` is ignored (the first one is malformed by the firmware): the login says who this is.
      const resource = bind.getChildText("resource") || "boot";
      this.resource = resource;
      this.lab.emit({ type: "bound", mac: this.mac!, resource });
      this.write(`<iq id='${id}' type='result'><bind xmlns='${NS_BIND}'><jid>${escapeXML(this.jid(resource))}</jid></bind></iq>`);
      return;
    }
    const unbind = iq.getChild("unbind", NS_BIND);
    if (type === "set" && unbind) {
      const resource = unbind.getChildText("resource") ?? "";
      this.lab.emit({ type: "unbound", mac: this.mac!, resource });
      this.write(`<iq id='${id}' type='result'></iq>`);
      return;
    }
    if (type === "set" && iq.getChild("session", NS_SESSION)) {
      this.write(`<iq type='result' to='${escapeXML(this.jid(this.resource ?? "boot"))}' from='${escapeXML(this.domain)}' id='${id}'></iq>`);
      return;
    }
    const query = iq.getChild("query", "violet:iq:sources");
    if (type === "get" && query) {
      this.lab.emit({ type: "sources", mac: this.mac! });
      const from = `net.violet.platform@${this.domain}/sources`;
      this.write(`<iq from='${escapeXML(from)}' to='${escapeXML(this.jid(this.resource ?? "boot"))}' id='${id}' type='result'><query xmlns='violet:iq:sources'><packet xmlns='violet:packet' format='1.0' ttl='604800'>${initPacket().toString("base64")}</packet></query></iq>`);
      return;
    }
    if (type === "get" && iq.getChild("ping", NS_PING)) {
      this.write(`<iq from='${escapeXML(this.domain)}' id='${id}' type='result'></iq>`);
      return;
    }
    this.write(`<iq id='${id}' type='error'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`);
  }

  private onPresence(presence: Element): void {
    if (presence.attrs.type === "unavailable") return;
    const jid = this.jid(this.resource ?? "boot");
    this.lab.emit({ type: "online", mac: this.mac!, resource: this.resource ?? "boot" });
    // The echo: the firmware waits for any presence before unbinding its old resource.
    this.write(`<presence from='${escapeXML(jid)}' to='${escapeXML(jid)}'${presence.attrs.id ? ` id='${escapeXML(presence.attrs.id)}'` : ""}></presence>`);
  }

  private onMessage(message: Element): void {
    const payload = message.getChildElements().map((child) => child.toString()).join("");
    this.lab.emit({ type: "message", mac: this.mac!, payload });
  }

  sendPacket(payload: Buffer): void {
    const base64 = payload.toString("base64");
    if (this.closed) return;
    const resource = this.resource ?? "boot";
    this.lab.emit({ type: "packet-sent", mac: this.mac!, resource, base64 });
    this.write(`<message from='net.violet.platform@${escapeXML(this.domain)}/services' to='${escapeXML(this.jid(resource))}' id='lab-${++this.packetId}'><packet xmlns='violet:packet' format='1.0' ttl='604800'>${base64}</packet></message>`);
  }
}

/** OpenJabNab's view of the accounts for the tolerant dialect's shadow: it reads them and never writes them. */
function shadowPlatform(domain: string, accounts: Accounts): OjnPlatform {
  const stored = new Map<string, string>();
  const passwordOf = (mac: string) => stored.get(mac) ?? accounts.get(mac)?.password;
  return {
    domain,
    passwordOf,
    storeIfNone: (mac, _registered, password) => {
      if (passwordOf(mac)) return false;
      stored.set(mac, password);
      return true;
    },
  };
}
