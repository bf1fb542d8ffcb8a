// The binary packet inside violet:packet (platform.md §3): 0x7F, then frames of type (1 byte), length (3 bytes,
// big-endian) and data, then 0xFF; base64 in the stanza. Rev 18673 accepts types 0x00..0x0B only; another type, a
// length past the end or a missing 0xFF rejects the whole packet. Every frame is reported to the host; the rabbit
// itself acts on the mode frame (0x0B: 0 wake, 1 sleep) and the reboot frame (0x09), evaluating frames last first.
// The rest (ambient lights, ears, programs) is the trame interpreter's, reported for the host to show.

import { BASE64_NO_ROOM } from "../codec/base64";
import { PACKET, PACKET_CAPACITY } from "../memory-map";
import { decodeReceivedBase64 } from "../rabbit/base64-in";
import { Ascii } from "../util/bytes";
import { log } from "../rabbit/report";
import { REPORT_FRAME, REPORT_PACKET_ERROR, reportBytes, reportText } from "../rabbit/report";

export const PACKET_OK: i32 = 0;
export const PACKET_BAD_BASE64: i32 = -1;
export const PACKET_BAD_START: i32 = -2;
export const PACKET_BAD_TYPE: i32 = -3;
export const PACKET_TRUNCATED: i32 = -4;
export const PACKET_NO_END: i32 = -5;

export const FRAME_AMBIENT: i32 = 0x04;
export const FRAME_REBOOT: i32 = 0x09;
export const FRAME_PROGRAM: i32 = 0x0a;
export const FRAME_MODE: i32 = 0x0b;

export const MODE_NONE: i32 = -1;
export const MODE_WAKE: i32 = 0;
export const MODE_SLEEP: i32 = 1;

/** After runPacket: the mode the packet asks for (MODE_NONE if it has no mode frame), and whether to reboot. */
export let packetMode: i32 = MODE_NONE;
export let packetReboot: bool = false;

/** Decodes, checks and reports the packet whose base64 text is given; returns PACKET_OK or why it was rejected. */
export function runPacket(text: usize, textLength: i32): i32 {
  packetMode = MODE_NONE;
  packetReboot = false;
  const length = decodeReceivedBase64(text, textLength, PACKET, PACKET_CAPACITY);
  if (length == BASE64_NO_ROOM) return reject(PACKET_BAD_BASE64, "packet rejected: larger than the packet buffer (PACKET_CAPACITY)");
  if (length < 0) return reject(PACKET_BAD_BASE64, "packet rejected: bad base64");
  // Check the whole packet before anything of it is used.
  if (length == 0 || load<u8>(PACKET) != 0x7f) return reject(PACKET_BAD_START, "packet rejected: no 0x7F start byte");
  let at = 1;
  let frames = 0;
  // Each pass steps over one frame; the packet's length bounds it.
  while (true) {
    if (at >= length) return reject(PACKET_NO_END, "packet rejected: no 0xFF end byte");
    const type = <i32>load<u8>(PACKET + at);
    if (type == 0xff) break;
    if (type > 0x0b) return reject(PACKET_BAD_TYPE, "packet rejected: unknown frame type");
    if (at + 4 > length) return reject(PACKET_TRUNCATED, "packet rejected: frame header past the end");
    const size = frameSize(at);
    if (at + 4 + size > length) return reject(PACKET_TRUNCATED, "packet rejected: frame length past the end");
    at += 4 + size;
    frames++;
  }
  // Report in wire order, each as its type then its data: the type is copied over the last length byte so the two
  // are contiguous, and the byte is put back after.
  at = 1;
  for (let i = 0; i < frames; i++) {
    const size = frameSize(at);
    store<u8>(PACKET + at + 3, load<u8>(PACKET + at));
    reportBytes(REPORT_FRAME, PACKET + at + 3, size + 1);
    store<u8>(PACKET + at + 3, <u8>(size & 0xff));
    at += 4 + size;
  }
  // Act, last frame first.
  for (let i = frames - 1; i >= 0; i--) {
    const frame = frameAt(i);
    const type = <i32>load<u8>(PACKET + frame);
    const size = frameSize(frame);
    if (type == FRAME_REBOOT) {
      packetReboot = true;
      break;
    }
    if (type == FRAME_MODE && size >= 1) packetMode = <i32>load<u8>(PACKET + frame + 4) == 1 ? MODE_SLEEP : MODE_WAKE;
  }
  return PACKET_OK;
}

function frameSize(at: i32): i32 {
  return (<i32>load<u8>(PACKET + at + 1) << 16) | (<i32>load<u8>(PACKET + at + 2) << 8) | <i32>load<u8>(PACKET + at + 3);
}

/** Offset of frame `index` (the packet is known to be well-formed). */
function frameAt(index: i32): i32 {
  let at = 1;
  for (let i = 0; i < index; i++) at += 4 + frameSize(at);
  return at;
}

function reject(code: i32, reason: Ascii): i32 {
  log(reason);
  reportText(REPORT_PACKET_ERROR, reason);
  return code;
}
