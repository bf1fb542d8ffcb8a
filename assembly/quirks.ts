// The firmware's quirks (spec §1.1), one switch each. The `firmware` profile turns every one on, `standard` turns them
// all off; the host may flip any single one (quirk_set). Code asks `quirk(QUIRK_X)` at the one place the behaviour
// differs. The host's list of names (host/quirks.ts) follows this numbering. In the device build (FIRMWARE_ONLY,
// build.ts) quirk() is the constant true: every branch a quirk switches off is not compiled.

import { FIRMWARE_ONLY } from "./build";

export const QUIRK_MD5_LENGTH: i32 = 0;
export const QUIRK_B64_ENC_PADDING: i32 = 1;
export const QUIRK_B64_DEC_NUL: i32 = 2;
export const QUIRK_B64_DEC_PHASE: i32 = 3;
export const QUIRK_CNONCE_NUL: i32 = 4;
export const QUIRK_CNONCE_LCG: i32 = 5;
export const QUIRK_PASSWORD_SEED: i32 = 6;
export const QUIRK_REGISTER_XOR: i32 = 7;
export const QUIRK_MECH_BLIND: i32 = 8;
export const QUIRK_CHALLENGE_STRICT: i32 = 9;
export const QUIRK_SASL_SILENT: i32 = 10;
export const QUIRK_FAILURE_REREGISTER: i32 = 11;
export const QUIRK_HEADER_ONE_CHUNK: i32 = 12;
export const QUIRK_CLOSE_REBOOTS: i32 = 13;
export const QUIRK_NO_STREAM_CLOSE: i32 = 14;
export const QUIRK_STREAM_ERROR_IGNORED: i32 = 15;
export const QUIRK_SRV_ORDER: i32 = 16;
export const QUIRK_NO_STARTTLS: i32 = 17;
export const QUIRK_READ_TIMEOUT_WRITES: i32 = 18;
export const QUIRK_BIND_FROM: i32 = 19;
export const QUIRK_SESSION_ALWAYS: i32 = 20;
export const QUIRK_REBIND_SAME_STREAM: i32 = 21;
export const QUIRK_SOURCES_ERROR_RECONNECT: i32 = 22;
export const QUIRK_PING_ECHO: i32 = 23;
export const QUIRK_PING_EXACT_TO: i32 = 24;
export const QUIRK_IQ_SILENT_DROP: i32 = 25;
export const QUIRK_REPLY_TO_RESULT: i32 = 26;
export const QUIRK_DISCO_NO_IDENTITY: i32 = 27;
export const QUIRK_XML_WS_BETWEEN: i32 = 28;
export const QUIRK_XML_EMPTY_NOATTR: i32 = 29;
export const QUIRK_XML_EMPTY_TRUNCATE: i32 = 30;
export const QUIRK_XML_NESTED_SAME: i32 = 31;
export const QUIRK_XML_NO_ENTITIES: i32 = 32;
export const QUIRK_XML_PREFIX_LITERAL: i32 = 33;
export const QUIRK_XML_ATTR_SYNTAX: i32 = 34;
export const QUIRK_XML_FIRST_TEXT: i32 = 35;
export const QUIRK_PRESENCE_WAIT: i32 = 36;
export const QUIRK_COUNT: i32 = 37;

/** The quirks that only the firmware's own reader can reproduce; with any of them on, stanzas are read by it. */
const FIRMWARE_READER_QUIRKS: u64 =
  (1 << <u64>QUIRK_XML_WS_BETWEEN) | (1 << <u64>QUIRK_XML_EMPTY_NOATTR) | (1 << <u64>QUIRK_XML_EMPTY_TRUNCATE)
  | (1 << <u64>QUIRK_XML_NESTED_SAME) | (1 << <u64>QUIRK_XML_NO_ENTITIES) | (1 << <u64>QUIRK_XML_ATTR_SYNTAX)
  | (1 << <u64>QUIRK_HEADER_ONE_CHUNK);

const ALL: u64 = (1 << <u64>QUIRK_COUNT) - 1;

let enabled: u64 = ALL;

// @ts-ignore: decorator
@inline export function quirk(index: i32): bool {
  if (FIRMWARE_ONLY) return true;
  return (enabled & (<u64>1 << <u64>index)) != 0;
}

export function setQuirk(index: i32, on: bool): void {
  if (index < 0 || index >= QUIRK_COUNT) return;
  if (on) enabled |= <u64>1 << <u64>index;
  else enabled &= ~(<u64>1 << <u64>index);
}

/** Sets every quirk on (firmware profile) or off (standard profile). */
export function setAllQuirks(on: bool): void {
  enabled = on ? ALL : 0;
}

/** Stanzas are read by the firmware's substring reader rather than the streaming tokenizer. */
// @ts-ignore: decorator
@inline export function usesFirmwareReader(): bool {
  if (FIRMWARE_ONLY) return true;
  return (enabled & FIRMWARE_READER_QUIRKS) != 0;
}
