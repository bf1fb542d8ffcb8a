// A synthetic but realistic XMPP server-to-client stream for the tokenizer benchmark: the stanzas a rabbit and a
// chatty client receive (messages with escaped bodies, presence with capabilities, roster and disco results, pings,
// violet:packet messages with base64 payloads), deterministic for a given size.

import type { Core } from "../../host/core.js";

const HEADER =
  "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' " +
  "id='2173750751' from='almacska' version='1.0' xml:lang='en'>";

/** The ears packet of spec/platform.md §3 (ears 10/5, nose blink), one to five times in a row, in base64. */
const EARS_PACKET_HEX = "7f0400000a7ffffffe040a05050801ff";
const EARS_PACKETS = [1, 2, 3, 4, 5].map((times) => Buffer.from(EARS_PACKET_HEX.repeat(times), "hex").toString("base64"));

function stanzas(i: number): string {
  const n = String(i);
  switch (i % 8) {
    case 0:
      return `<message from='net.openjabnab.platform@almacska/services' to='f81edfee27c1@almacska/idle' id='OJaNa-${n}'><packet xmlns='violet:packet' format='1.0' ttl='604800'>fwQAAAp////+BAAFAAgACwAAAQD/fwQAAAx////+BBAFAA4oCAALAAABAP8=</packet></message>`;
    case 1:
      return `<presence from='user${n}@almacska/phone' to='f81edfee27c1@almacska/idle' id='p${n}'><show>away</show><status>Out &amp; about &lt;back at 5&gt;</status><priority>5</priority><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='http://psi-im.org' ver='q07IKJEyjvHSyhy//CH0CxmKi8w='/></presence>`;
    case 2:
      return `<iq type='get' id='ping${n}' from='almacska' to='f81edfee27c1@almacska/idle'><ping xmlns='urn:xmpp:ping'/></iq>`;
    case 3:
      return `<message from='friend${n}@almacska/laptop' to='f81edfee27c1@almacska/idle' type='chat' id='m${n}'><body>Hello rabbit, it&apos;s &quot;time&quot; to wake up: caf\u00e9 \u00e0 7h &#x2014; ${n}</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>`;
    case 4:
      return `<iq type='result' id='roster${n}' to='f81edfee27c1@almacska/idle'><query xmlns='jabber:iq:roster' ver='${n}'><item jid='a${n}@almacska' name='Alice' subscription='both'><group>Friends</group></item><item jid='b${n}@almacska' name='Bob &amp; Co' subscription='to'/><item jid='c${n}@almacska' subscription='from'><group>Work</group><group>Lab</group></item></query></iq>`;
    case 5:
      return `<iq from='almacska' to='f81edfee27c1@almacska/idle' type='result' id='disco${n}'><query xmlns='http://jabber.org/protocol/disco#info'><identity category='server' type='im' name='ejabberd'/><feature var='urn:xmpp:ping'/><feature var='jabber:iq:version'/><feature var='http://jabber.org/protocol/disco#items'/><feature var='vcard-temp'/></query></iq>`;
    case 6:
      return `<iq type='result' id='${n}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>f81edfee27c1@almacska/idle</jid></bind></iq>`;
    default:
      return `<message from='net.violet.platform@almacska/sources' to='f81edfee27c1@almacska/idle' id='s${n}'><packet xmlns='violet:packet' format='1.0'>${EARS_PACKETS[i % 5]}</packet></message> `;
  }
}

/** The stream header and enough stanzas to reach `size` bytes. */
export function xmppStream(size: number): { header: Buffer; body: Buffer; stanzaCount: number } {
  const parts: string[] = [];
  let length = 0;
  let i = 0;
  while (length < size) {
    const s = stanzas(i++);
    parts.push(s);
    length += Buffer.byteLength(s);
  }
  return { header: Buffer.from(HEADER), body: Buffer.from(parts.join("")), stanzaCount: i };
}

/** One small stanza, as a read from the socket would deliver it. */
export const SMALL_STANZA = Buffer.from("<iq type='result' id='2' from='almacska' to='almacska/6b4c6f'/>");

/** `stream` in pieces of `size` bytes, as reads from a socket would bring it. */
export function chunksOf(stream: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < stream.length; at += size) chunks.push(stream.subarray(at, at + size));
  return chunks;
}

/**
 * What the rabbit does with a stream: each chunk into the module's input, then stanza_next into slot 0 until it needs
 * more. Returns the stanzas read; a reader error throws.
 */
export function readStanzaTrees(core: Core, chunks: Buffer[]): number {
  const e = core.exports;
  e.stanza_reset();
  let stanzas = 0;
  for (const chunk of chunks) {
    core.bytes.set(chunk, core.input);
    e.stanza_feed(core.input, chunk.length);
    for (let result = e.stanza_next(0); result !== 0; result = e.stanza_next(0)) {
      if (result < 0) throw new Error(`stanza_next: error ${result}`);
      if (result === 2) stanzas++;
    }
  }
  return stanzas;
}
