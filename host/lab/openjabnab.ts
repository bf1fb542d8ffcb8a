// The lab's `openjabnab` dialect: OpenJabNab's XMPP side as its source has it (server/lib/xmpphandler.cpp,
// server/lib/iq.cpp, server/plugins/system/auth/plugin_auth.cpp), rewritten from reading, not copied. OpenJabNab
// works on whatever one socket read holds (QTcpSocket::readAll), matches fixed byte strings and regular
// expressions, and closes the connection on anything it does not expect before the login is done:
//   step 0   the rabbit's header must start with <?xml version='1.0' encoding='UTF-8'?>;
//   step 1   exactly <query xmlns='violet:iq:register'/> in an iq get (registration), or a chunk starting with
//            <auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='DIGEST-MD5'/>;
//   step 100 the register set must hold <query xmlns="violet:iq:register"><username>HEX</username><password>HEX
//            </password></query>; the password is stored (XORed with the MAC) only if none is stored, else close;
//   step 2   the response's plaintext, NULs removed, must read username=..,nonce=..,cnonce=..,nc=..,qop=auth,
//            digest-uri=..,response=..,charset=utf-8 in that order (no realm); the hash takes the cnonce with one
//            NUL appended; a wrong hash is <failure><not-authorized/></failure> and back to step 0;
//   step 3   exactly <response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>; step 4 the new header.
// After the login: a <message> with <button>/<ears>, an iq whose content is a bind, exactly OpenJabNab's session or
// sources query, an unbind, or a presence of the exact form <presence from='…' id='…'></presence> (echoed); anything
// else is logged and left unanswered. The machine is pure: the lab's strict connection applies what it says, and
// the tolerant dialect runs it beside itself to say where a strict platform would refuse.

import { initPacket } from "./packets.js";
import { digestResponse } from "./sasl-digest.js";

export interface OjnPlatform {
  domain: string;
  /** The password stored for a rabbit ("" or undefined: none). */
  passwordOf(mac: string): string | undefined;
  /** Stores a password if none is stored; false if one is (OpenJabNab's SetBunnyPassword). */
  storeIfNone(mac: string, registered: string, password: string): boolean;
}

export type OjnEvent =
  | { type: "registered"; mac: string }
  | { type: "register-refused"; mac: string }
  | { type: "login-failed"; mac: string; reason: string }
  | { type: "authenticating"; mac: string }
  | { type: "login"; mac: string; mechanism: string }
  | { type: "authenticated"; mac: string }
  | { type: "bound"; mac: string; resource: string }
  | { type: "sources"; mac: string }
  | { type: "online"; mac: string; resource: string }
  | { type: "unbound"; mac: string; resource: string }
  | { type: "message"; mac: string; payload: string };

/** What one socket read led to: the answer (one write), the events, and whether the connection is closed. */
export interface OjnOutcome {
  answer?: string;
  events: OjnEvent[];
  /** OpenJabNab's log line when it disconnects the rabbit. */
  close?: string;
  /** OpenJabNab's log line when it leaves a read unanswered after the login. */
  unhandled?: string;
}

const HEADER_IN = "<?xml version='1.0' encoding='UTF-8'?>";
const AUTH_IN = "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='DIGEST-MD5'/>";
const RSPAUTH_ACK_IN = "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>";
const REGISTER_GET_CONTENT = "<query xmlns='violet:iq:register'/>";
const REGISTER_SET = /<query xmlns="violet:iq:register"><username>([0-9a-f]*)<\/username><password>([0-9a-f]*)<\/password><\/query>/;
const RESPONSE_FIELDS = /username="([^"]*)",nonce="([^"]*)",cnonce="([^"]*)",nc=([^,]*),qop=auth,digest-uri="([^"]*)",response=([^,]*),charset=utf-8/;
const SESSION_CONTENT = "<session xmlns='urn:ietf:params:xml:ns:xmpp-session'/>";
const SOURCES_CONTENT = "<query xmlns=\"violet:iq:sources\"><packet xmlns=\"violet:packet\" format=\"1.0\"/></query>";
const BIND = /<bind[^>]*><resource>([^<]*)<\/resource><\/bind>/;
const UNBIND = /<unbind[^>]*><resource>([^<]*)<\/resource><\/unbind>/;

// OpenJabNab's greedy patterns (QRegExp "<iq ([^>]*)>(.*)</iq>" and the like), matched with indexOf and lastIndexOf:
// the same leftmost-longest result without a backtracking regular expression, so a hostile read costs linear time.

/** `<NAME[^>]*>(.*)</NAME>`, greedy: the first opening, up to the last closing. `attributes` lies between. */
function greedyElement(data: string, opening: string, closing: string): { attributes: string; content: string } | undefined {
  const start = data.indexOf(opening);
  if (start < 0) return undefined;
  const tagEnd = data.indexOf(">", start + opening.length);
  const end = data.lastIndexOf(closing);
  if (tagEnd < 0 || end <= tagEnd) return undefined;
  return { attributes: data.slice(start + opening.length, tagEnd), content: data.slice(tagEnd + 1, end) };
}

/** `<presence from='(.*)' id='(.*)'></presence>`, greedy both. */
function greedyPresence(data: string): { from: string; id: string } | undefined {
  const opening = "<presence from='";
  const start = data.indexOf(opening);
  const end = data.lastIndexOf("'></presence>");
  if (start < 0 || end < 0) return undefined;
  const middle = data.lastIndexOf("' id='", end - 6);
  if (middle < start + opening.length) return undefined;
  return { from: data.slice(start + opening.length, middle), id: data.slice(middle + 6, end) };
}

/** The stream header and features OpenJabNab answers before the login (a fixed id) and after it. */
export function ojnHeader(domain: string, afterLogin: boolean): string {
  const id = afterLogin ? "1331400675" : "2173750751";
  const header = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='${id}' from='${domain}' version='1.0' xml:lang='en'>`;
  if (afterLogin) {
    return header + "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><required/></bind><unbind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></stream:features>";
  }
  return header + "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>DIGEST-MD5</mechanism><mechanism>PLAIN</mechanism></mechanisms><register xmlns='http://violet.net/features/violet-register'/></stream:features>";
}

/** OpenJabNab's IQ: `<iq ATTRS>CONTENT</iq>`, attributes split at spaces, only type, id, from and to allowed. */
export interface OjnIq {
  valid: boolean;
  type: string;
  id: string;
  from: string;
  to: string;
  content: string;
}

export function parseOjnIq(data: string): OjnIq {
  const iq: OjnIq = { valid: false, type: "", id: "", from: "", to: "", content: "" };
  const match = greedyElement(data, "<iq ", "</iq>");
  if (!match) return iq;
  iq.valid = true;
  iq.content = match.content;
  for (const argument of match.attributes.split(" ")) {
    const equals = argument.indexOf("=");
    if (equals < 0) continue;
    const key = argument.slice(0, equals);
    // The value is taken between the quote after '=' and the last character, whichever quotes they are.
    const value = argument.slice(equals + 2, -1);
    if (key === "type") iq.type = value;
    else if (key === "id") iq.id = value;
    else if (key === "from") iq.from = value;
    else if (key === "to") iq.to = value;
    else {
      iq.valid = false;
      break;
    }
  }
  return iq;
}

/** OpenJabNab's IQ::Reply: the format's %1 id, %2 from (= the query's to), %3 to (= its from), %4 type. */
export function ojnReply(iq: OjnIq, type: string, format: string, content: string | null): string {
  const filled = format
    .replace("%1", `id='${iq.id}'`)
    .replace("%2", `from='${iq.to}'`)
    .replace("%3", `to='${iq.from}'`)
    .replace("%4", `type='${type}'`);
  return content === null ? `<iq ${filled}/>` : `<iq ${filled}>${content}</iq>`;
}

/** OpenJabNab's ComputeResponse: RFC 2831's with no realm ("user::password"); `mode` AUTHENTICATE, or "" for rspauth. */
export function ojnDigest(username: string, password: string, nonce: string, cnonce: string, nc: string, digestUri: string, mode: string): string {
  return digestResponse({ username, realm: "", password, nonce, cnonce, nc, digestUri }, mode === "" ? ":" : "AUTHENTICATE:");
}

/** OpenJabNab's ComputeXor: both hex strings as bytes, XORed over the first one's length. */
export function ojnXor(user: string, password: string): string {
  const a = Buffer.from(user.length % 2 ? user.slice(0, -1) : user, "hex");
  const b = Buffer.from(password.length % 2 ? password.slice(0, -1) : password, "hex");
  for (let i = 0; i < a.length; i++) a[i] = a[i]! ^ (b[i] ?? 0);
  return a.toString("hex");
}

/** One connection's OpenJabNab state: its auth step, the rabbit once named, and whether it is logged in. */
export class OjnMachine {
  step = 0;
  bunny: string | undefined;
  authenticated = false;
  resource: string | undefined;

  constructor(private readonly platform: OjnPlatform, private readonly random: () => number) {}

  /** One socket read, as OpenJabNab's HandleBunnyXmppMessage takes it. */
  feed(data: string): OjnOutcome {
    if (!this.authenticated) return this.auth(data);
    return this.afterLogin(data);
  }

  private auth(data: string): OjnOutcome {
    switch (this.step) {
      case 0:
        return this.header(data, false, "Bad Auth Step 0, disconnect");
      case 1:
        return this.registerOrAuth(data);
      case 100:
        return this.registerSet(data);
      case 2:
        return this.response(data);
      case 3:
        if (!data.startsWith(RSPAUTH_ACK_IN)) return { events: [], close: "Bad Auth Step 3, disconnect" };
        this.step = 4;
        return { answer: "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>", events: [{ type: "login", mac: this.bunny!, mechanism: "DIGEST-MD5" }] };
      case 4:
        return this.header(data, true, "Bad Auth Step 4, disconnect");
      default:
        return { events: [], close: "Unknown Auth Step, disconnect" };
    }
  }

  private header(data: string, afterLogin: boolean, refusal: string): OjnOutcome {
    if (!data.startsWith(HEADER_IN)) return { events: [], close: refusal };
    const events: OjnEvent[] = [];
    if (afterLogin) {
      this.step = 0;
      this.authenticated = true;
      events.push({ type: "authenticated", mac: this.bunny! });
    } else {
      this.step = 1;
    }
    return { answer: ojnHeader(this.platform.domain, afterLogin), events };
  }

  private registerOrAuth(data: string): OjnOutcome {
    const iq = parseOjnIq(data);
    if (iq.valid && iq.type === "get" && iq.content === REGISTER_GET_CONTENT) {
      this.step = 100;
      const form = "<query xmlns='violet:iq:register'><instructions>Choose a username and password to register with this server</instructions><username/><password/></query>";
      return { answer: ojnReply(iq, "result", `from='${this.platform.domain}' %1 %4`, form), events: [] };
    }
    if (data.startsWith(AUTH_IN)) {
      // qrand(): a decimal number below 2^31.
      const nonce = String(Math.floor(this.random() * 0x7fffffff));
      const challenge = `nonce="${nonce}",qop="auth",charset=utf-8,algorithm=md5-sess`;
      this.step = 2;
      return { answer: `<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>${Buffer.from(challenge, "latin1").toString("base64")}</challenge>`, events: [] };
    }
    return { events: [], close: "Bad Auth Step 1, disconnect" };
  }

  private registerSet(data: string): OjnOutcome {
    const iq = parseOjnIq(data);
    const match = iq.valid && iq.type === "set" ? REGISTER_SET.exec(iq.content) : null;
    if (!match) return { events: [], close: "Bad Register, disconnect" };
    const [, user, sent] = match as unknown as [string, string, string];
    if (!this.platform.storeIfNone(user, sent, ojnXor(user, sent))) {
      return { events: [{ type: "register-refused", mac: user }], close: `Password already set for bunny : ${user}` };
    }
    this.step = 1;
    return { answer: ojnReply(iq, "result", "%1 %2 %3 %4", iq.content), events: [{ type: "registered", mac: user }] };
  }

  private response(data: string): OjnOutcome {
    const wrapped = greedyElement(data, "<response", "</response>");
    const plain = wrapped ? Buffer.from(wrapped.content, "base64").toString("latin1").replace(/\0/g, "") : "";
    const fields = wrapped ? RESPONSE_FIELDS.exec(plain) : null;
    if (!fields) return { events: [], close: "Bad Auth Step 2, disconnect" };
    const [, username, nonce, cnonceSent, nc, digestUri, response] = fields as unknown as string[];
    const password = this.platform.passwordOf(username!) ?? "";
    // "cnonce have a dummy \0 at his end": OpenJabNab adds back the NUL the firmware puts there.
    const cnonce = `${cnonceSent}\0`;
    if (response !== ojnDigest(username!, password, nonce!, cnonce, nc!, digestUri!, "AUTHENTICATE")) {
      this.step = 0;
      const reason = password ? "wrong password" : "no password stored";
      return { answer: "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>", events: [{ type: "login-failed", mac: username!, reason }] };
    }
    this.bunny = username!;
    this.step = 3;
    const rspauth = `rspauth=${ojnDigest(username!, password, nonce!, cnonce, nc!, digestUri!, "")}`;
    return { answer: `<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>${Buffer.from(rspauth, "latin1").toString("base64")}</challenge>`, events: [{ type: "authenticating", mac: username! }] };
  }

  private afterLogin(data: string): OjnOutcome {
    const mac = this.bunny!;
    const message = greedyElement(data, "<message", "</message>");
    if (message) return this.bunnyMessage(mac, message.content);
    const iqStart = data.indexOf("<iq");
    if (iqStart >= 0 && data.lastIndexOf("/iq>") > iqStart) return this.iq(mac, data);
    const presence = greedyPresence(data);
    if (presence) {
      return { answer: `<presence from='${presence.from}' to='${presence.from}' id='${presence.id}'/>`, events: [{ type: "online", mac, resource: this.resource ?? "" }] };
    }
    if (data.length === 1) return { events: [] }; // the rabbit's keep-alive
    return { events: [], unhandled: `Unable to handle bunny xmpp message : ${data}` };
  }

  private bunnyMessage(mac: string, content: string): OjnOutcome {
    if (content.startsWith("<button") && !/<clic>([0-9]+)<\/clic>/.test(content)) return { events: [], unhandled: "Unable to parse button message" };
    if (content.startsWith("<ears") && !/<left>([0-9]+)<\/left><right>([0-9]+)<\/right>/.test(content)) return { events: [], unhandled: "Unable to parse ears message" };
    if (!content.startsWith("<button") && !content.startsWith("<ears")) return { events: [], unhandled: `Unknown message from bunny : ${content}` };
    return { events: [{ type: "message", mac, payload: content }] };
  }

  private iq(mac: string, data: string): OjnOutcome {
    const iq = parseOjnIq(data);
    if (!iq.valid) return { events: [], unhandled: `Invalid IQ : ${data}` };
    const bind = BIND.exec(iq.content);
    if (bind) {
      this.resource = bind[1]!;
      const jid = `${mac}@${this.platform.domain}/${this.resource}`;
      return { answer: ojnReply(iq, "result", "%1 %4", `<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>${jid}</jid></bind>`), events: [{ type: "bound", mac, resource: this.resource }] };
    }
    if (iq.content === SESSION_CONTENT) return { answer: ojnReply(iq, "result", "%4 %3 %2 %1", SESSION_CONTENT), events: [] };
    if (iq.content === SOURCES_CONTENT) {
      const packet = `<query xmlns='violet:iq:sources'><packet xmlns='violet:packet' format='1.0' ttl='604800'>${initPacket().toString("base64")}</packet></query>`;
      return { answer: ojnReply(iq, "result", "%2 %3 %1 %4", packet), events: [{ type: "sources", mac }] };
    }
    const unbind = UNBIND.exec(iq.content);
    if (unbind) return { answer: ojnReply(iq, "result", "%1 %4", null), events: [{ type: "unbound", mac, resource: unbind[1]! }] };
    return { events: [], unhandled: `Unknown IQ : ${iq.content}` };
  }
}

/** OpenJabNab's packet message (XmppHandler::WriteDataToBunny); `counter` is its message number. */
export function ojnPacketMessage(domain: string, mac: string, resource: string, counter: number, payload: Buffer): string {
  return `<message from='net.openjabnab.platform@${domain}/services' to='${mac}@${domain}/${resource}' id='OJaNa-${counter}'><packet xmlns='violet:packet' format='1.0' ttl='604800'>${payload.toString("base64")}</packet></message>`;
}

/**
 * What a tolerant lab says when it accepted what OpenJabNab would refuse: "accepted jabber:iq:register; OpenJabNab
 * would close the stream (Bad Auth Step 1, disconnect)".
 */
export function strictNote(data: string, outcome: OjnOutcome): string | undefined {
  const what = summarize(data);
  if (outcome.close) return `accepted ${what}; OpenJabNab would close the stream (${outcome.close})`;
  if (outcome.unhandled) return `answered ${what}; OpenJabNab would leave it unanswered (${outcome.unhandled.split(" : ")[0]})`;
  const failed = outcome.events.find((event) => event.type === "login-failed");
  if (failed) return `accepted the login of ${failed.mac}; OpenJabNab would refuse it (its DIGEST-MD5 has no realm and a NUL after the cnonce)`;
  return undefined;
}

/** A short name for a stanza: the namespace of its query, or its element and namespace. */
export function summarize(data: string): string {
  const text = data.trim();
  const query = /<query xmlns=['"]([^'"]+)['"]/.exec(text);
  if (query) return query[1]!;
  const element = /^<([^\s/>]+)/.exec(text);
  const namespace = /xmlns=['"]([^'"]+)['"]/.exec(text);
  if (!element) return JSON.stringify(text.slice(0, 40));
  return namespace ? `<${element[1]}> (${namespace[1]})` : `<${element[1]}>`;
}
