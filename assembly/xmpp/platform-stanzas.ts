// Stanzas once connected (spec §9): XEP-0199 pings (answered in any state), the platform's iq requests, messages
// carrying violet:packet, and the events the rabbit sends (button, ears).

import { JID } from "../memory-map";
import {
  quirk,
  QUIRK_BIND_FROM,
  QUIRK_DISCO_NO_IDENTITY,
  QUIRK_IQ_SILENT_DROP,
  QUIRK_PING_ECHO,
  QUIRK_PING_EXACT_TO,
  QUIRK_REPLY_TO_RESULT,
} from "../quirks";
import { ADDRESS_INT, addressField, nextId } from "../rabbit/state";
import { Ascii, bytesEqual, bytesEqualAscii, indexOfByte } from "../util/bytes";
import { fieldData, fieldEquals, fieldLength, fieldSet } from "../util/field";
import { Writer } from "../util/writer";
import { NODE_ELEMENT, treeNode } from "../xml/tree";
import { begin, end, escaped, escapedField } from "./output";
import { attribute, attributeIs, child, childIn, inNamespace, isNamed, NS_PACKET, NS_PING, text, valueLength, valuePointer } from "./stanza-query";

// The received stanza's addressing, copied out of the tree for the reply.
const MAX_ADDRESS: i32 = 256;
let fromPointer: usize = 0;
let fromLength = -1;
let toPointer: usize = 0;
let toLength = -1;
let idPointer: usize = 0;
let idLength = -1;

function readAddressing(tree: usize): void {
  fromLength = attribute(tree, 0, "from") ? valueLength : -1;
  fromPointer = valuePointer;
  toLength = attribute(tree, 0, "to") ? valueLength : -1;
  toPointer = valuePointer;
  idLength = attribute(tree, 0, "id") ? valueLength : -1;
  idPointer = valuePointer;
}

/** <iq> with a direct child <ping xmlns='urn:xmpp:ping'/>. */
export function isPing(tree: usize): bool {
  return isNamed(tree, 0, "iq") && childIn(tree, 0, "ping", NS_PING) >= 0;
}

/**
 * Starts a reply: <iq from='JID' to='FROM' type='TYPE' id='ID'> (from: bind-from only; to and id if the request had
 * them). `from` may be overridden (the ping echo uses the request's `to`).
 */
function replyStart(type: Ascii, fromOverride: bool): Writer {
  const writer = begin();
  writer.ascii("<iq ");
  if (quirk(QUIRK_BIND_FROM)) {
    writer.ascii("from='");
    if (fromOverride && toLength >= 0) escaped(writer, toPointer, min(toLength, MAX_ADDRESS));
    else escapedField(writer, JID);
    writer.ascii("' ");
  }
  if (fromLength >= 0) {
    writer.ascii("to='");
    escaped(writer, fromPointer, min(fromLength, MAX_ADDRESS));
    writer.ascii("' ");
  }
  writer.ascii("type='");
  writer.ascii(type);
  writer.ascii("'");
  if (idLength >= 0) {
    writer.ascii(" id='");
    escaped(writer, idPointer, min(idLength, MAX_ADDRESS));
    writer.ascii("'");
  }
  return writer;
}

function replyEmpty(type: Ascii): void {
  replyStart(type, false).ascii("/>");
  end();
}

function replyError(condition: Ascii): void {
  const writer = replyStart("error", false);
  writer.ascii("><error type='cancel'><");
  writer.ascii(condition);
  writer.ascii(" xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>");
  end();
}

/** A `to` that reaches the rabbit: exactly its full JID (ping-exact-to), or its full JID, its bare JID or none. */
function addressedToMe(): bool {
  if (toLength < 0) return !quirk(QUIRK_PING_EXACT_TO);
  if (fieldEquals(JID, toPointer, toLength)) return true;
  if (quirk(QUIRK_PING_EXACT_TO)) return false;
  const slash = indexOfByte(fieldData(JID), fieldLength(JID), 0x2f);
  return slash >= 0 && bytesEqual(fieldData(JID), slash, toPointer, toLength);
}

/** Answers a ping (spec §9, any state, no sender check). */
export function handlePing(tree: usize): void {
  readAddressing(tree);
  if (attributeIs(tree, 0, "type", "get")) {
    if (!addressedToMe()) {
      replyError("feature-not-implemented");
      return;
    }
    if (quirk(QUIRK_PING_ECHO)) {
      replyStart("result", true).ascii("><ping xmlns='urn:xmpp:ping'/></iq>");
      end();
    } else {
      replyEmpty("result");
    }
    return;
  }
  // A ping result or error: the rabbit never pings, so it does not match one (the firmware answers with an error).
  if (quirk(QUIRK_REPLY_TO_RESULT) && (attributeIs(tree, 0, "type", "result") || attributeIs(tree, 0, "type", "error"))) {
    replyError("feature-not-implemented");
  }
}

/** The iq comes from one of the platform's domains (the part between '@' and '/', both required). */
function fromPlatform(): bool {
  if (fromLength < 0) return false;
  const at = indexOfByte(fromPointer, fromLength, 0x40);
  if (at < 0) return false;
  const slash = indexOfByte(fromPointer, fromLength, 0x2f, at + 1);
  if (slash < 0) return false;
  const domain = fromPointer + <usize>(at + 1);
  const length = slash - at - 1;
  return bytesEqualAscii(domain, length, "xmpp.platform.violet.net") || bytesEqualAscii(domain, length, "xmpp.objects.violet.net")
    || bytesEqualAscii(domain, length, "xmpp.applet.violet.net");
}

/** handleIq results: what the client must do next. */
export const IQ_DONE: i32 = 0;
export const IQ_PACKET: i32 = 1; // a violet:packet to run: its text in valuePointer / valueLength

/** An <iq> (not a ping) in the free state (spec §9 table). */
export function handleIq(tree: usize): i32 {
  readAddressing(tree);
  const isGet = attributeIs(tree, 0, "type", "get");
  const isSet = attributeIs(tree, 0, "type", "set");
  if (!isGet && !isSet) {
    if (quirk(QUIRK_REPLY_TO_RESULT)) replyEmpty("error");
    return IQ_DONE;
  }
  const trusted = fromPlatform();
  if (!trusted && quirk(QUIRK_IQ_SILENT_DROP)) return IQ_DONE;
  // The first element child is the request.
  const request = firstElement(tree, 0);
  if (request < 0) {
    replyError("bad-request");
    return IQ_DONE;
  }
  if (isGet && answerQuery(tree, request)) return IQ_DONE;
  // The rest is the platform's only.
  if (!trusted) {
    replyError(isGet ? "feature-not-implemented" : "service-unavailable");
    return IQ_DONE;
  }
  if (isSet) return platformSet(tree, request);
  replyError("feature-not-implemented");
  return IQ_DONE;
}

/** Queries anyone may ask (when iq-silent-drop lets them through): version, disco#info, disco#items. */
function answerQuery(tree: usize, request: i32): bool {
  if (!isNamed(tree, request, "query")) return false;
  if (inNamespace(tree, request, "jabber:iq:version")) {
    replyStart("result", false).ascii("><query xmlns='jabber:iq:version'><name>Nabaztag/tag</name><version>18673</version></query></iq>");
    end();
    return true;
  }
  if (inNamespace(tree, request, "http://jabber.org/protocol/disco#info")) {
    replyDiscoInfo(tree, request);
    return true;
  }
  if (!inNamespace(tree, request, "http://jabber.org/protocol/disco#items")) return false;
  const writer = replyStart("result", false);
  writer.ascii("><query xmlns='http://jabber.org/protocol/disco#items' node='http://jabber.org/protocol/commands'>");
  for (let i = 0; i < 2; i++) {
    writer.ascii("<item jid='");
    escapedField(writer, JID);
    writer.ascii(i == 0 ? "' node='getconfig' name='getconfig'/>" : "' node='getrunningstate' name='getrunningstate'/>");
  }
  writer.ascii("</query></iq>");
  end();
  return true;
}

function replyDiscoInfo(tree: usize, request: i32): void {
  const writer = replyStart("result", false);
  writer.ascii("><query xmlns='http://jabber.org/protocol/disco#info'");
  if (attribute(tree, request, "node")) {
    writer.ascii(" node='");
    escaped(writer, valuePointer, valueLength);
    writer.ascii("'><identity category='automation' type='command-node' name='");
    escaped(writer, valuePointer, valueLength);
    writer.ascii("'/><feature var='http://jabber.org/protocol/commands'/></query></iq>");
  } else {
    writer.ascii(">");
    if (!quirk(QUIRK_DISCO_NO_IDENTITY)) {
      writer.ascii("<identity category='client' type='bot' name='Nabaztag/tag'/><feature var='http://jabber.org/protocol/disco#info'/>");
    }
    writer.ascii("<feature var='jabber:iq:version'/><feature var='urn:xmpp:ping'/></query></iq>");
  }
  end();
}

/** The platform's sets: addresses, an ad-hoc command, a packet. */
function platformSet(tree: usize, request: i32): i32 {
  if (isNamed(tree, request, "addresses") && inNamespace(tree, request, "violet:iq:addresses")) {
    storeAddresses(tree, request);
    replyEmpty("result");
    return IQ_DONE;
  }
  if (isNamed(tree, request, "command") && inNamespace(tree, request, "http://jabber.org/protocol/commands")) {
    const writer = replyStart("result", false);
    writer.ascii("><command xmlns='http://jabber.org/protocol/commands' status='completed'");
    if (attribute(tree, request, "node")) {
      writer.ascii(" node='");
      escaped(writer, valuePointer, valueLength);
      writer.ascii("'");
    }
    writer.ascii("><x xmlns='jabber:x:data' type='result'/></command></iq>");
    end();
    return IQ_DONE;
  }
  if (isNamed(tree, request, "packet") && inNamespace(tree, request, NS_PACKET) && toLength >= 0) {
    replyEmpty("result");
    return text(tree, request) ? IQ_PACKET : IQ_DONE;
  }
  replyError("feature-not-implemented");
  return IQ_DONE;
}

function firstElement(tree: usize, parent: i32): i32 {
  const end = <i32>treeNode(tree, parent).end;
  for (let i = parent + 1; i < end; i++) {
    if (treeNode(tree, i).kind == NODE_ELEMENT) return i;
  }
  return -1;
}

const ADDRESS_NAMES: StaticArray<Ascii> = ["int", "asr", "ppt", "rfid", "itmode", "sources"];

/** violet:iq:addresses: each known child's text is stored. */
function storeAddresses(tree: usize, node: i32): void {
  for (let i = 0; i < ADDRESS_NAMES.length; i++) {
    const found = child(tree, node, unchecked(ADDRESS_NAMES[i]));
    if (found >= 0 && text(tree, found)) fieldSet(addressField(i), valuePointer, valueLength);
  }
}

/**
 * A <message> with a direct child <packet xmlns="violet:packet" format="1.0"> and a `to` (spec §9): its text (base64)
 * in valuePointer / valueLength. No sender check, no reply.
 */
export function messagePacket(tree: usize): bool {
  if (!attribute(tree, 0, "to")) return false;
  const packet = childIn(tree, 0, "packet", NS_PACKET);
  if (packet < 0 || !attributeIs(tree, packet, "format", "1.0")) return false;
  return text(tree, packet);
}

/** An event to the platform: <message from='JID' to='INT@xmpp.objects.violet.net/INT' id='N'>PAYLOAD</message>. */
function eventStart(): Writer {
  const writer = begin(true);
  writer.ascii("<message ");
  if (quirk(QUIRK_BIND_FROM)) {
    writer.ascii("from='");
    escapedField(writer, JID);
    writer.ascii("' ");
  }
  writer.ascii("to='");
  const int = addressField(ADDRESS_INT);
  if (fieldLength(int) > 0) escapedField(writer, int);
  else writer.ascii("int");
  writer.ascii("@xmpp.objects.violet.net/");
  if (fieldLength(int) > 0) escapedField(writer, int);
  else writer.ascii("int");
  writer.ascii("' id='");
  writer.decimal(nextId());
  writer.ascii("'>");
  return writer;
}

/** A click (1) or double click (2) on the head button. */
export function queueButton(clicks: i32): bool {
  const writer = eventStart();
  writer.ascii("<button xmlns=\"violet:nabaztag:button\"><clic>");
  writer.decimal(<u32>clicks);
  writer.ascii("</clic></button></message>");
  return end();
}

/** Ears moved by hand to positions left, right. */
export function queueEars(left: i32, right: i32): bool {
  const writer = eventStart();
  writer.ascii("<ears xmlns=\"violet:nabaztag:ears\"><left>");
  writer.decimal(<u32>left);
  writer.ascii("</left><right>");
  writer.decimal(<u32>right);
  writer.ascii("</right></ears></message>");
  return end();
}
