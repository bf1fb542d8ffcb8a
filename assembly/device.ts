// The device build (build/rabbit.device.wasm; asconfig.json target "device", with NABAZTAG_FIRMWARE_ONLY: assembly/
// build.ts): the `firmware` profile alone, what a real rabbit runs. It exports the VM's entry points (entry.ts), the
// input buffer and the end of the memory map, nothing else: no quirk switches (every quirk is on for good), no SASL
// choice (DIGEST-MD5), no core or test exports. docs/ABI.md, "Builds", lists its exports and its memory map.

import { base64Setup } from "./codec/base64";

base64Setup();

export { IO_IN, IO_IN_CAPACITY, arena_end } from "./memory-map";
export * from "./entry";
