// Loading the rabbit's WebAssembly module and talking to it through its plain ABI (docs/ABI.md): i32 pointers and
// lengths into the module's static buffers, no marshalling library. The memory never grows, so one view of it stays
// valid for the module's whole life.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * The rabbit's compiled variants: `release` (optimized, no assertions) and `debug` (assertions, names), both the full
 * module (both profiles, every export: CoreExports); `device` (assembly/device.ts, release options): the `firmware`
 * profile alone, what a real rabbit runs, with the VM's entry points alone (RabbitExports) in one 64 KiB page. A
 * firmware-profile Rabbit with the firmware's quirks runs the device build unless told otherwise (host/rabbit.ts).
 */
export type Variant = "release" | "debug" | "device";

/**
 * A build to load: a variant of the rabbit, or `core`: the core alone (assembly/core.ts: MD5, base64, tokenizer,
 * stanza trees, dump; release options). The core has only the core's exports of CoreExports and imports only
 * `vm.uart_write`.
 */
export type Build = Variant | "core";

const FILES: Record<Build, string> = { release: "rabbit.wasm", debug: "rabbit.debug.wasm", device: "rabbit.device.wasm", core: "core.wasm" };

/** Every build, in the order size tables list them. */
export const BUILDS = ["core", "release", "debug", "device"] as const satisfies readonly Build[];

export function modulePath(build: Build): string {
  return fileURLToPath(new URL(`../${FILES[build]}`, import.meta.url));
}

const compiled = new Map<Build, WebAssembly.Module>();

/** Compiles a build once per process; every rabbit instance shares it. */
export function compileModule(variant: Build = "release"): WebAssembly.Module {
  let module = compiled.get(variant);
  if (!module) {
    module = new WebAssembly.Module(readFileSync(modulePath(variant)));
    compiled.set(variant, module);
  }
  return module;
}

// The ABI's numbers the host uses, named as the module names them (assembly/abi.ts; test/abi.test.ts checks them).
/** tcp_event's events. */
export const TCP_EVENT_WRITABLE = 0;
export const TCP_EVENT_DATA = 1;
export const TCP_EVENT_CLOSED = -1;
/** dns_query's record types. */
export const DNS_TYPE_A = 1;
export const DNS_TYPE_SRV = 33;

/** The VM's entry points and the input buffer: what every build of the rabbit exports, and all the device build does. */
export interface RabbitExports {
  memory: WebAssembly.Memory;
  IO_IN: WebAssembly.Global;
  IO_IN_CAPACITY: WebAssembly.Global;
  arena_end(): number;
  boot(): void;
  tick(): void;
  next_tick_ms(): number;
  tcp_event(handle: number, event: number, length: number): void;
  http_done(request: number, status: number, length: number): void;
  dns_done(request: number, count: number, length: number): void;
  button(clicks: number): void;
  ears(left: number, right: number): void;
  rabbit_status(): number;
  rabbit_state(): number;
  register_form_set(form: number): number;
}

/** Every export of the device build (test/abi.test.ts: the built module has exactly these). */
export const DEVICE_EXPORTS = [
  "memory", "IO_IN", "IO_IN_CAPACITY", "arena_end", "boot", "tick", "next_tick_ms", "tcp_event", "http_done", "dns_done",
  "button", "ears", "rabbit_status", "rabbit_state", "register_form_set",
] as const satisfies readonly (keyof RabbitExports)[];

// Every member of RabbitExports is in the list (a compile error otherwise).
const everyDeviceExportListed: Exclude<keyof RabbitExports, (typeof DEVICE_EXPORTS)[number]> extends never ? true : never = true;
void everyDeviceExportListed;

/** The exports of the full builds (release, debug); the core has those of its part (docs/ABI.md). */
export interface CoreExports extends RabbitExports {
  IO_OUT: WebAssembly.Global;
  IO_OUT_CAPACITY: WebAssembly.Global;
  XML_EVENT: WebAssembly.Global;
  quirk_set(index: number, on: number): void;
  quirk_get(index: number): number;
  quirks_set_all(on: number): void;
  md5_init(): void;
  md5_update(pointer: number, length: number): void;
  md5_final(out: number, firmware: number): void;
  md5_digest(pointer: number, length: number, out: number, firmware: number): void;
  sha1_init(): void;
  sha1_update(pointer: number, length: number): void;
  sha1_final(out: number): void;
  sha1_digest(pointer: number, length: number, out: number): void;
  hmac_sha1(key: number, keyLength: number, message: number, messageLength: number, out: number): void;
  pbkdf2_sha1(password: number, passwordLength: number, salt: number, saltLength: number, iterations: number, out: number, outLength: number): void;
  base64_encode(pointer: number, length: number, out: number, capacity: number, firmware: number): number;
  base64_decode(pointer: number, length: number, out: number, capacity: number): number;
  base64_decode_firmware(pointer: number, length: number, out: number, capacity: number): number;
  xml_reset(): void;
  xml_feed(pointer: number, length: number): number;
  xml_next(): number;
  xml_drain(): number;
  stanza_reset(): void;
  stanza_feed(pointer: number, length: number): number;
  stanza_next(slot: number): number;
  stanza_dump(slot: number): void;
  firmware_read(pointer: number, length: number, slot: number): number;
  firmware_rest_start(): number;
  firmware_rest_end(): number;
  firmware_text_length(): number;
  // The rabbit (docs/ABI.md): RabbitExports, and
  sasl_force(mechanism: number): void;
  // Test points
  test_digest_md5(mac: number, macLength: number, realm: number, realmLength: number, domain: number, domainLength: number,
    password: number, passwordLength: number, nonce: number, nonceLength: number, cnonce: number, cnonceLength: number): number;
  test_response_base64(length: number): number;
  test_register_password(): void;
  test_cnonce(): number;
  test_decode_received_base64(length: number): number;
  test_plant(bug: number): void;
  test_scram_first(userLength: number): number;
  test_scram_final(length: number, password: number, passwordLength: number): number;
  test_scram_verify(length: number): number;
}

/** Every export of the rabbit's module: CoreExports's members (test/abi.test.ts: the built module has exactly these). */
export const RABBIT_EXPORTS = [
  "memory", "IO_IN", "IO_IN_CAPACITY", "IO_OUT", "IO_OUT_CAPACITY", "XML_EVENT", "arena_end", "quirk_set", "quirk_get",
  "quirks_set_all", "md5_init", "md5_update", "md5_final", "md5_digest", "sha1_init", "sha1_update", "sha1_final",
  "sha1_digest", "hmac_sha1", "pbkdf2_sha1", "base64_encode", "base64_decode", "base64_decode_firmware", "xml_reset",
  "xml_feed", "xml_next", "xml_drain", "stanza_reset", "stanza_feed", "stanza_next", "stanza_dump", "firmware_read",
  "firmware_rest_start", "firmware_rest_end", "firmware_text_length", "boot", "tick", "next_tick_ms", "tcp_event", "http_done",
  "dns_done", "button", "ears", "rabbit_status", "rabbit_state", "sasl_force", "register_form_set", "test_digest_md5",
  "test_response_base64", "test_register_password", "test_cnonce", "test_decode_received_base64", "test_plant", "test_scram_first", "test_scram_final",
  "test_scram_verify",
] as const satisfies readonly (keyof CoreExports)[];

// Every member of CoreExports is in the list (a compile error otherwise).
const everyExportListed: Exclude<keyof CoreExports, (typeof RABBIT_EXPORTS)[number]> extends never ? true : never = true;
void everyExportListed;

/**
 * What the host supplies to the module's imports (module "vm"): the VM's services. Pointers are resolved by the
 * import wrappers; these see bytes and strings. A service the host leaves out throws if the module calls it.
 */
export interface CoreServices {
  /** Bytes the rabbit writes to its debug UART (lines end with "\n"). */
  uartWrite?(bytes: Uint8Array): void;
  timeMs?(): number;
  rand?(): number;
  srand?(seed: number): void;
  randomBytes?(length: number): Uint8Array;
  macAddress?(): Uint8Array;
  flashRead?(offset: number, length: number): Uint8Array;
  flashWrite?(offset: number, bytes: Uint8Array): void;
  tcpOpen?(address: string, port: number): number;
  tcpSend?(handle: number, bytes: Uint8Array): number;
  tcpClose?(handle: number): void;
  httpGet?(url: string, wantBody: boolean): number;
  dnsQuery?(type: number, name: string): number;
  ledSet?(index: number, rgb: number): void;
  reboot?(): void;
  report?(kind: number, payload: Uint8Array): void;
}

/** Reads an AssemblyScript string literal (UTF-16, byte length at pointer - 4); used only for assertion messages. */
function readStaticString(memory: WebAssembly.Memory, pointer: number): string {
  if (pointer === 0) return "";
  const view = new DataView(memory.buffer);
  const length = view.getUint32(pointer - 4, true);
  return Buffer.from(new Uint8Array(memory.buffer, pointer, length)).toString("utf16le");
}

/** An assertion inside the module failed (debug builds): a bug in the module, never an input problem. */
export class ModuleAssertionError extends Error {}

function missing(name: string): never {
  throw new Error(`the host does not provide the VM service '${name}'`);
}

/** The imports object for the module, wired to `services`. `memory()` is read lazily: imports exist before it. */
export function coreImports(services: CoreServices, memory: () => WebAssembly.Memory): WebAssembly.Imports {
  const bytes = (pointer: number, length: number) => new Uint8Array(memory().buffer, pointer, length);
  const latin1 = (pointer: number, length: number) => Buffer.from(bytes(pointer, length)).toString("latin1");
  return {
    env: {
      abort(message: number, file: number, line: number, column: number): never {
        const m = memory();
        throw new ModuleAssertionError(`${readStaticString(m, message) || "assertion failed"} at ${readStaticString(m, file)}:${line}:${column}`);
      },
    },
    vm: {
      uart_write(pointer: number, length: number): void {
        services.uartWrite?.(bytes(pointer, length).slice());
      },
      time_ms: (): number => (services.timeMs ?? (() => missing("time_ms")))(),
      rand: (): number => (services.rand ?? (() => missing("rand")))(),
      srand: (seed: number): void => (services.srand ?? (() => missing("srand")))(seed),
      random_bytes(pointer: number, length: number): void {
        bytes(pointer, length).set((services.randomBytes ?? (() => missing("random_bytes")))(length).subarray(0, length));
      },
      mac_address(pointer: number): void {
        bytes(pointer, 6).set((services.macAddress ?? (() => missing("mac_address")))().subarray(0, 6));
      },
      flash_read(offset: number, pointer: number, length: number): void {
        const data = (services.flashRead ?? (() => missing("flash_read")))(offset, length);
        const target = bytes(pointer, length);
        target.fill(0xff);
        target.set(data.subarray(0, length));
      },
      flash_write(offset: number, pointer: number, length: number): void {
        (services.flashWrite ?? (() => missing("flash_write")))(offset, bytes(pointer, length).slice());
      },
      tcp_open: (address: number, addressLength: number, port: number): number =>
        (services.tcpOpen ?? (() => missing("tcp_open")))(latin1(address, addressLength), port),
      tcp_send(handle: number, pointer: number, length: number, start: number): number {
        if (start >= length) return length;
        const taken = (services.tcpSend ?? (() => missing("tcp_send")))(handle, bytes(pointer + start, length - start).slice());
        return taken < 0 ? -1 : start + taken;
      },
      tcp_close: (handle: number): void => (services.tcpClose ?? (() => missing("tcp_close")))(handle),
      http_get: (url: number, urlLength: number, wantBody: number): number =>
        (services.httpGet ?? (() => missing("http_get")))(latin1(url, urlLength), wantBody !== 0),
      dns_query: (type: number, name: number, nameLength: number): number =>
        (services.dnsQuery ?? (() => missing("dns_query")))(type, latin1(name, nameLength)),
      led_set: (index: number, rgb: number): void => services.ledSet?.(index, rgb >>> 0),
      reboot: (): void => (services.reboot ?? (() => missing("reboot")))(),
      report(kind: number, pointer: number, length: number): void {
        services.report?.(kind, bytes(pointer, length).slice());
      },
    },
  };
}

/** A module instance with typed helpers over its buffers. Tests and the benchmark use it directly. */
export class Core {
  readonly exports: CoreExports;
  /** All of the module's memory. Valid for the instance's life: the memory never grows. */
  readonly bytes: Uint8Array;
  readonly input: number;
  readonly inputCapacity: number;
  readonly output: number;
  readonly outputCapacity: number;

  constructor(instance: WebAssembly.Instance) {
    this.exports = instance.exports as unknown as CoreExports;
    this.bytes = new Uint8Array(this.exports.memory.buffer);
    this.input = this.exports.IO_IN.value as number;
    this.inputCapacity = this.exports.IO_IN_CAPACITY.value as number;
    this.output = this.exports.IO_OUT.value as number;
    this.outputCapacity = this.exports.IO_OUT_CAPACITY.value as number;
  }

  static load(services: CoreServices = {}, variant: Build = "release"): Core {
    let instance: WebAssembly.Instance | undefined;
    const imports = coreImports(services, () => (instance!.exports as unknown as CoreExports).memory);
    instance = new WebAssembly.Instance(compileModule(variant), imports);
    return new Core(instance);
  }

  /** Copies bytes into IO_IN and returns their address. */
  put(data: Uint8Array, offset = 0): number {
    if (offset + data.length > this.inputCapacity) {
      throw new RangeError(`${data.length} bytes do not fit the module's input buffer (${this.inputCapacity} bytes)`);
    }
    this.bytes.set(data, this.input + offset);
    return this.input + offset;
  }

  /** A copy of `length` bytes at `pointer`. */
  read(pointer: number, length: number): Uint8Array {
    return this.bytes.slice(pointer, pointer + length);
  }

  /** MD5 of `data`, fed in pieces of at most the input buffer's size; `firmware` reproduces the length bug. */
  md5(data: Uint8Array, firmware = false): Uint8Array {
    const e = this.exports;
    if (data.length <= this.inputCapacity) {
      e.md5_digest(this.put(data), data.length, this.output, firmware ? 1 : 0);
      return this.read(this.output, 16);
    }
    e.md5_init();
    for (let at = 0; at < data.length; at += this.inputCapacity) {
      const piece = data.subarray(at, at + this.inputCapacity);
      e.md5_update(this.put(piece), piece.length);
    }
    e.md5_final(this.output, firmware ? 1 : 0);
    return this.read(this.output, 16);
  }

  /** SHA-1 of `data`, fed in pieces of at most the input buffer's size. */
  sha1(data: Uint8Array): Uint8Array {
    const e = this.exports;
    if (data.length <= this.inputCapacity) {
      e.sha1_digest(this.put(data), data.length, this.output);
      return this.read(this.output, 20);
    }
    e.sha1_init();
    for (let at = 0; at < data.length; at += this.inputCapacity) {
      const piece = data.subarray(at, at + this.inputCapacity);
      e.sha1_update(this.put(piece), piece.length);
    }
    e.sha1_final(this.output);
    return this.read(this.output, 20);
  }

  /** HMAC-SHA-1; key and message together must fit the input buffer. */
  hmacSha1(key: Uint8Array, message: Uint8Array): Uint8Array {
    this.exports.hmac_sha1(this.put(key), key.length, this.put(message, key.length), message.length, this.output);
    return this.read(this.output, 20);
  }

  /** PBKDF2-HMAC-SHA-1, `length` bytes (at most the output buffer's size). */
  pbkdf2Sha1(password: Uint8Array, salt: Uint8Array, iterations: number, length: number): Uint8Array {
    if (length > this.outputCapacity) throw new RangeError("the derived key does not fit the module's output buffer");
    this.exports.pbkdf2_sha1(this.put(password), password.length, this.put(salt, password.length), salt.length, iterations, this.output, length);
    return this.read(this.output, length);
  }

  base64Encode(data: Uint8Array, firmware = false): string {
    const length = this.exports.base64_encode(this.put(data), data.length, this.output, this.outputCapacity, firmware ? 1 : 0);
    if (length < 0) throw new RangeError("base64 output does not fit the module's output buffer");
    return Buffer.from(this.read(this.output, length)).toString("latin1");
  }

  /** Strict RFC 4648 decode: the bytes, or a negative error code (BASE64_ERRORS). */
  base64Decode(text: string): Uint8Array | number {
    const source = Buffer.from(text, "latin1");
    const length = this.exports.base64_decode(this.put(source), source.length, this.output, this.outputCapacity);
    return length < 0 ? length : this.read(this.output, length);
  }

  /** The firmware's decoder. */
  base64DecodeFirmware(text: string): Uint8Array {
    const source = Buffer.from(text, "latin1");
    const length = this.exports.base64_decode_firmware(this.put(source), source.length, this.output, this.outputCapacity);
    if (length < 0) throw new RangeError("decoded bytes do not fit the module's output buffer");
    return this.read(this.output, length);
  }
}

export const BASE64_ERRORS: Record<number, string> = {
  [-1]: "bad character",
  [-2]: "bad padding",
  [-3]: "bad length",
  [-4]: "no room",
};
