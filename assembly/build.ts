// Which build this is. asconfig.json's targets say it with asc's `--use NAME=1` (an integer constant); a build without
// the constant is the full one. Code asks these constants, never a runtime switch, so that what a build cannot run is
// not compiled into it at all (asc drops the branch of an `if` whose condition is a constant, and with it every
// function and literal only that branch uses).
//
//   full (rabbit.wasm, rabbit.debug.wasm)  both profiles, every quirk a switch, every export of docs/ABI.md
//   core (core.wasm)                       MD5, base64, the tokenizer, stanza trees and their dump; no rabbit (no
//                                          constant: its entry file, assembly/core.ts, uses none of the rest)
//   device (rabbit.device.wasm)            the `firmware` profile only: every quirk on for good, DIGEST-MD5 alone, the
//                                          firmware's XML reader alone, the VM's entry points alone, and a memory map
//                                          sized for the real rabbit (assembly/memory-map.ts)

/**
 * The `firmware` profile alone: quirk() is a constant true (assembly/quirks.ts), and with it every standard-profile
 * path is gone: SCRAM-SHA-1, SHA-1, HMAC, PBKDF2, PLAIN, the RFC 2831 challenge parser, strict base64, the streaming
 * tokenizer and the tree builder (the firmware reads stanzas with its own reader), random_bytes.
 */
export const FIRMWARE_ONLY: bool = isDefined(NABAZTAG_FIRMWARE_ONLY);
