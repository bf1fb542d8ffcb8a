// One source of truth for every number that crosses the WebAssembly boundary: the module defines them
// (assembly/abi.ts lists them; built alone as build/abi.wasm), the host's tables must say the same. A constant changed
// on one side only fails here. Also: the rabbit's module exports exactly what the host knows (no dead exports).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { BASE64_ERRORS, DNS_TYPE_A, DNS_TYPE_SRV, modulePath, RABBIT_EXPORTS, TCP_EVENT_CLOSED, TCP_EVENT_DATA, TCP_EVENT_WRITABLE } from "../host/core.js";
import { QUIRK_NAMES } from "../host/quirks.js";
import { REGISTRATION_FORMS, REPORT_KINDS, SASL_MECHANISMS, STATE_NAMES, STATUS_NAMES } from "../host/rabbit.js";
import * as flash from "../host/vm/flash.js";
import { HTTP_BODY_BYTES_MAX } from "../host/vm/http.js";
import { XML_ERROR_NAMES, XML_EVENT_KINDS } from "../host/xml.js";
import { ROOT } from "./helpers.js";

/** The module's constants, by name, from build/abi.wasm's exported globals; and its two name functions. */
function moduleAbi() {
  const module = new WebAssembly.Module(readFileSync(`${ROOT}build/abi.wasm`));
  const instance = new WebAssembly.Instance(module, { env: { abort: () => assert.fail("abort") } });
  const values = new Map<string, number>();
  for (const [name, value] of Object.entries(instance.exports)) if (value instanceof WebAssembly.Global) values.set(name, value.value as number);
  const exports = instance.exports as { memory: WebAssembly.Memory; status_name(i: number): number; state_name(i: number): number };
  const out = values.get("IO_OUT")!;
  const name = (length: number) => Buffer.from(exports.memory.buffer, out, length).toString("latin1");
  return { values, statusName: (i: number) => name(exports.status_name(i)), stateName: (i: number) => name(exports.state_name(i)) };
}

/** "md5-length" -> "MD5_LENGTH": how a host name maps to the module's constant. */
const constantName = (name: string) => name.toUpperCase().replace(/-/g, "_");

/** The module's constants with this prefix, as name -> value. */
function withPrefix(values: Map<string, number>, prefix: string, except: string[] = []): Map<string, number> {
  return new Map([...values].filter(([name]) => name.startsWith(prefix) && !except.includes(name)));
}

test("quirks: every QUIRK_X of the module is QUIRK_NAMES[X] on the host, and no more", () => {
  const { values } = moduleAbi();
  const quirks = withPrefix(values, "QUIRK_", ["QUIRK_COUNT"]);
  assert.equal(values.get("QUIRK_COUNT"), QUIRK_NAMES.length);
  assert.equal(quirks.size, QUIRK_NAMES.length);
  for (const [name, index] of quirks) assert.equal(`QUIRK_${constantName(QUIRK_NAMES[index] ?? "?")}`, name, `quirk ${index}`);
});

test("status and state: the numbers and the names the module reports are the host's", () => {
  const { values, statusName, stateName } = moduleAbi();
  assert.equal(values.get("STATUS_COUNT"), STATUS_NAMES.length);
  assert.equal(values.get("STATE_COUNT"), STATE_NAMES.length);
  STATUS_NAMES.forEach((name, i) => assert.equal(statusName(i), name, `status ${i}`));
  STATE_NAMES.forEach((name, i) => assert.equal(stateName(i), name, `state ${i}`));
  assert.equal(withPrefix(values, "STATUS_", ["STATUS_COUNT"]).size, STATUS_NAMES.length);
  assert.equal(values.get("STATUS_REGISTRATION_ERROR"), STATUS_NAMES.indexOf("registration-error"));
  assert.equal(values.get("STATE_FREE"), STATE_NAMES.indexOf("ssFree"));
});

test("report kinds, SASL mechanisms, registration forms, TCP events, DNS types: the same numbers on both sides", () => {
  const { values } = moduleAbi();
  const reports = withPrefix(values, "REPORT_");
  assert.equal(reports.size, Object.keys(REPORT_KINDS).length);
  for (const [kind, name] of Object.entries(REPORT_KINDS)) assert.equal(reports.get(`REPORT_${constantName(name)}`), Number(kind), name);
  assert.equal(withPrefix(values, "MECHANISM_").size, SASL_MECHANISMS.length);
  SASL_MECHANISMS.forEach((name, i) => assert.equal(values.get(`MECHANISM_${constantName(name)}`), i, name));
  assert.equal(values.get("REGISTER_FORM_COUNT"), REGISTRATION_FORMS.length);
  REGISTRATION_FORMS.forEach((name, i) => assert.equal(values.get(`REGISTER_FORM_${constantName(name)}`), i, name));
  const host = { TCP_EVENT_WRITABLE, TCP_EVENT_DATA, TCP_EVENT_CLOSED, DNS_TYPE_A, DNS_TYPE_SRV };
  for (const [name, value] of Object.entries(host)) assert.equal(values.get(name), value, name);
});

test("the flash layout and the buffers the host sizes by: the same on both sides", () => {
  const { values } = moduleAbi();
  for (const name of ["FLASH_SIZE", "FLASH_SERVER_URL_OFFSET", "FLASH_SERVER_URL_SIZE", "FLASH_PASSWORD_FLAG_OFFSET", "FLASH_PASSWORD_FLAG", "FLASH_PASSWORD_OFFSET", "PASSWORD_LENGTH"] as const) {
    assert.equal(values.get(name), flash[name], name);
  }
  // The HTTP service reads no more of a body than the module can take in one http_done.
  assert.equal(HTTP_BODY_BYTES_MAX, values.get("IO_IN_CAPACITY"));
});

test("tokenizer events and errors, base64 errors: the host's names stand for the module's numbers", () => {
  const { values } = moduleAbi();
  XML_EVENT_KINDS.forEach((kind, i) => assert.equal(values.get(`XML_${kind}`), i, kind));
  const errors = withPrefix(values, "XML_ERROR_");
  assert.equal(errors.size, XML_ERROR_NAMES.length);
  XML_ERROR_NAMES.forEach(([name], i) => assert.equal(errors.get(`XML_ERROR_${name}`), -(i + 1), name));
  assert.equal(withPrefix(values, "BASE64_").size, Object.keys(BASE64_ERRORS).length);
  for (const [code, text] of Object.entries(BASE64_ERRORS)) assert.equal(values.get(`BASE64_${constantName(text.replace(/ /g, "-"))}`), Number(code), text);
});

test("the rabbit's module exports exactly what the host knows (CoreExports), and the core's are a subset", () => {
  const names = (path: string) => WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(path))).map((e) => e.name).sort();
  assert.deepEqual(names(modulePath("release")), [...RABBIT_EXPORTS].sort());
  assert.deepEqual(names(modulePath("debug")), [...RABBIT_EXPORTS].sort());
  for (const name of names(modulePath("core"))) assert.ok((RABBIT_EXPORTS as readonly string[]).includes(name), name);
});
