// After authentication (spec §8): resource binding, the session, the platform's sources query, presence, and the
// firmware's way of changing resource on the same stream (bind the new one, then unbind the old). With bind-from,
// the firmware puts a `from` on all of these, the first one malformed ("MAC@DOMAIN/" with no resource).

import { DOMAIN, JID, MAC_HEX, RESOURCE_BOUND, RESOURCE_PREVIOUS } from "../memory-map";
import { quirk, QUIRK_BIND_FROM } from "../quirks";
import { nextId } from "../rabbit/state";
import { indexOfByte } from "../util/bytes";
import { fieldSet } from "../util/field";
import { Writer } from "../util/writer";
import { begin, end, escapedField } from "./output";

/** MAC@DOMAIN/RESOURCE, escaped. */
function bareFrom(writer: Writer, resource: usize): void {
  escapedField(writer, MAC_HEX);
  writer.byte(0x40);
  escapedField(writer, DOMAIN);
  writer.byte(0x2f);
  escapedField(writer, resource);
}

/** `from='JID' ` where the firmware puts one (bind-from). */
function fromJid(writer: Writer): void {
  if (!quirk(QUIRK_BIND_FROM)) return;
  writer.ascii("from='");
  escapedField(writer, JID);
  writer.ascii("' ");
}

/**
 * Binds `resource`. Firmware: <iq from="MAC@DOMAIN/PREV" to="DOMAIN" type='set' id='N'> (PREV empty the first time);
 * otherwise without from and to.
 */
export function sendBind(resource: usize): bool {
  const writer = begin();
  writer.ascii("<iq ");
  if (quirk(QUIRK_BIND_FROM)) {
    writer.ascii("from=\"");
    bareFrom(writer, RESOURCE_PREVIOUS);
    writer.ascii("\" to=\"");
    escapedField(writer, DOMAIN);
    writer.ascii("\" ");
  }
  writer.ascii("type='set' id='");
  writer.decimal(nextId());
  writer.ascii("'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>");
  escapedField(writer, resource);
  writer.ascii("</resource></bind></iq>");
  return end();
}

/** The JID from a bind result: JID := it, the bound resource := what follows its '/'. False if it is unusable. */
export function takeJid(pointer: usize, length: i32): bool {
  if (!fieldSet(JID, pointer, length)) return false;
  const slash = indexOfByte(pointer, length, 0x2f);
  const resource = slash < 0 ? pointer + <usize>length : pointer + <usize>(slash + 1);
  return fieldSet(RESOURCE_BOUND, resource, slash < 0 ? 0 : length - slash - 1);
}

export function sendSession(): bool {
  const writer = begin();
  writer.ascii("<iq ");
  fromJid(writer);
  writer.ascii("to='");
  escapedField(writer, DOMAIN);
  writer.ascii("' type='set' id='");
  writer.decimal(nextId());
  writer.ascii("'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>");
  return end();
}

/** The platform's sources query, asked while bound as "boot" (spec §8.2). */
export function sendSourcesQuery(): bool {
  const writer = begin();
  writer.ascii("<iq ");
  fromJid(writer);
  writer.ascii("to='net.violet.platform@");
  escapedField(writer, DOMAIN);
  writer.ascii("/sources' type='get' id='");
  writer.decimal(nextId());
  writer.ascii("'><query xmlns=\"violet:iq:sources\"><packet xmlns=\"violet:packet\" format=\"1.0\"/></query></iq>");
  return end();
}

export function sendPresence(): bool {
  const writer = begin();
  writer.ascii("<presence ");
  fromJid(writer);
  writer.ascii("id='");
  writer.decimal(nextId());
  writer.ascii("'></presence>");
  return end();
}

/** Unbinds the previous resource after a rebind on the same stream (spec §8.3). */
export function sendUnbind(): bool {
  const writer = begin();
  writer.ascii("<iq from='");
  bareFrom(writer, RESOURCE_PREVIOUS);
  writer.ascii("' to='");
  escapedField(writer, DOMAIN);
  writer.ascii("' type='set' id='");
  writer.decimal(nextId());
  writer.ascii("'><unbind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>");
  escapedField(writer, RESOURCE_PREVIOUS);
  writer.ascii("</resource></unbind></iq>");
  return end();
}

/** The stream header (spec §5): 153 bytes for an 8-character domain. */
export function sendStreamHeader(): bool {
  const writer = begin();
  writer.ascii("<?xml version='1.0' encoding='UTF-8'?>\n<stream:stream to='");
  escapedField(writer, DOMAIN);
  writer.ascii("' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>\n");
  return end();
}

export function sendStreamClose(): bool {
  begin().ascii("</stream:stream>");
  return end();
}

/** One space: the keep-alive (spec §4). */
export function sendKeepAlive(): bool {
  begin().byte(0x20);
  return end();
}

