// Shared by the tests: where the reference files are, the seed log's server messages, a seeded random generator.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseDebugLog, serverConnections, type LoggedConnection } from "../host/debug-log.js";

/** The repository's root (tests run from build/test/). */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export function referencePath(relative: string): string {
  return `${ROOT}reference/${relative}`;
}

export const SEED_LOG_PATH = referencePath("seed/nabaztag-openfire-debug.log");

export function readSeedLog(): string {
  return readFileSync(SEED_LOG_PATH, "latin1");
}

export interface Vectors {
  md5: { length: number; firmware: string; standard: string }[];
  base64_encode: { input_hex: string; firmware: string; standard: string }[];
  base64_decode: { input: string; firmware_hex: string }[];
  rand: { srand: number; first_20: number[] }[];
  password: { mac: string; time_ms: number; password: string; register_wire_password: string }[];
  cnonce: { srand: number; after_draws: number; cnonce_hex: string }[];
  digest_md5: {
    mac: string;
    realm: string;
    domain: string;
    password: string;
    nonce: string;
    cnonce_hex: string;
    firmware: { response: string; plaintext_hex: string; firmware_b64: string; standard_b64: string };
    standard_same_inputs: { response: string; plaintext_hex: string; firmware_b64: string; standard_b64: string };
  }[];
}

export function readVectors(): Vectors {
  return JSON.parse(readFileSync(referencePath("vectors/firmware-18673.json"), "utf8")) as Vectors;
}

/** The input pattern of the md5 vectors: bytes[i] = (i*7+1) & 0xff. */
export function vectorPattern(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 7 + 1) & 0xff;
  return bytes;
}

/** The seed's server messages (RECEIVE blocks) as wire bytes, grouped by TCP connection. */
export function seedConnections(): LoggedConnection[] {
  return serverConnections(parseDebugLog(readSeedLog()));
}

/** A small seeded generator (mulberry32), so random tests are reproducible: the simulator's. */
export { seededRandom } from "../host/sim/plan.js";

export function randomInt(random: () => number, below: number): number {
  return Math.floor(random() * below);
}

export function randomBytes(random: () => number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = randomInt(random, 256);
  return bytes;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}
