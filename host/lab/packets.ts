// violet:packet payloads as a platform builds them (platform.md §3): 0x7F, frames of type, 3-byte length and data,
// 0xFF; base64 in the stanza.

export interface Ambient {
  left?: number;
  right?: number;
  nose?: number;
}

function frame(type: number, data: number[]): number[] {
  return [type, (data.length >> 16) & 0xff, (data.length >> 8) & 0xff, data.length & 0xff, ...data];
}

function packet(...frames: number[][]): Buffer {
  return Buffer.from([0x7f, ...frames.flat(), 0xff]);
}

/** Ambient frame: OpenJabNab's 4-byte header 7FFFFFFE, then (service, value) pairs: 04 left ear, 05 right ear, 08 nose. */
function ambientFrame(ambient: Ambient): number[] {
  const pairs: number[] = [];
  if (ambient.left !== undefined) pairs.push(0x04, ambient.left & 0xff);
  if (ambient.right !== undefined) pairs.push(0x05, ambient.right & 0xff);
  if (ambient.nose !== undefined) pairs.push(0x08, ambient.nose & 0xff);
  return frame(0x04, [0x7f, 0xff, 0xff, 0xfe, ...pairs]);
}

export function ambientPacket(ambient: Ambient): Buffer {
  return packet(ambientFrame(ambient));
}

/** Sleep (mode 1) or wake (mode 0). */
export function modePacket(sleep: boolean): Buffer {
  return packet(frame(0x0b, [sleep ? 1 : 0]));
}

export function rebootPacket(): Buffer {
  return packet(frame(0x09, [0]));
}

/** The answer to the sources query (OpenJabNab's GetInitPacket): ears 0/0, nose 0, wake. */
export function initPacket(): Buffer {
  return packet(ambientFrame({ left: 0, right: 0, nose: 0 }), frame(0x0b, [0]));
}
