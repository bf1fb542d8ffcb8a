// One source of truth for every number that crosses the WebAssembly boundary: the module defines them
// (assembly/abi.ts lists them; built alone as build/abi.wasm), the host's tables must say the same. A constant changed
// on one side only fails here. Also: the rabbit's module exports exactly what the host knows (no dead exports).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { BASE64_ERRORS, BUILDS, DEVICE_EXPORTS, DNS_TYPE_A, DNS_TYPE_SRV, modulePath, RABBIT_EXPORTS, TCP_EVENT_CLOSED, TCP_EVENT_DATA, TCP_EVENT_WRITABLE, type Build } from "../host/core.js";
import { QUIRK_NAMES } from "../host/quirks.js";
import { REGISTRATION_FORMS, REPORT_KINDS, SASL_MECHANISMS, STATE_NAMES, STATUS_NAMES } from "../host/rabbit.js";
import * as flash from "../host/vm/flash.js";
import { HTTP_BODY_BYTES_MAX } from "../host/vm/http.js";
import { functionSignatures } from "../host/wasm-info.js";
import { XML_ERROR_NAMES, XML_EVENT_KINDS } from "../host/xml.js";
import { ROOT } from "./helpers.js";

/** The module's constants, by name, from build/abi.wasm's exported globals (abi.device.wasm: the device build's); and its two name functions. */
function moduleAbi(file = "abi.wasm") {
  const module = new WebAssembly.Module(readFileSync(`${ROOT}build/${file}`));
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

test("the rabbit's module exports exactly what the host knows (CoreExports), the device build RabbitExports, and the core's are a subset", () => {
  const names = (path: string) => WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(path))).map((e) => e.name).sort();
  assert.deepEqual(names(modulePath("release")), [...RABBIT_EXPORTS].sort());
  assert.deepEqual(names(modulePath("debug")), [...RABBIT_EXPORTS].sort());
  assert.deepEqual(names(modulePath("device")), [...DEVICE_EXPORTS].sort());
  for (const name of DEVICE_EXPORTS) assert.ok((RABBIT_EXPORTS as readonly string[]).includes(name), name);
  for (const name of names(modulePath("core"))) assert.ok((RABBIT_EXPORTS as readonly string[]).includes(name), name);
});

test("no release build imports env.abort (only the debug build, for its assertions); the device build no random_bytes", () => {
  const imports = (build: Build) => WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(modulePath(build)))).map((i) => `${i.module}.${i.name}`);
  for (const build of ["release", "device", "core"] as const) assert.deepEqual(imports(build).filter((name) => !name.startsWith("vm.")), [], build);
  assert.ok(imports("debug").includes("env.abort"));
  assert.ok(!imports("device").includes("vm.random_bytes"));
  for (const file of ["abi.wasm", "abi.device.wasm"]) {
    assert.equal(WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(`${ROOT}build/${file}`))).length <= 1, true, file);
  }
});

// ---------------------------------------------------------------------------------------------------------------------
// docs/ABI.md against the modules: its tables and its C excerpts.

const ABI_MD = readFileSync(`${ROOT}docs/ABI.md`, "utf8");

/** The document's tables: each as its header's cells and its rows' cells (backticks kept). */
function docTables(): { header: string[]; rows: string[][] }[] {
  const tables: { header: string[]; rows: string[][] }[] = [];
  let current: { header: string[]; rows: string[][] } | undefined;
  for (const line of ABI_MD.split("\n")) {
    if (!line.startsWith("|")) {
      current = undefined;
      continue;
    }
    const cells = line.slice(1, line.endsWith("|") ? -1 : undefined).split(" | ").map((cell) => cell.trim());
    if (!current) tables.push((current = { header: cells, rows: [] }));
    else if (!/^-+$/.test(cells[0]!.replace(/\|/g, ""))) current.rows.push(cells);
  }
  return tables;
}

const code = (cell: string) => cell.replace(/`/g, "");
const tablesWith = (...header: string[]) => docTables().filter((t) => header.every((h, i) => t.header[i] === h));

test("docs/ABI.md: every enumeration row is the module's constant, and every name is the one the module or host uses", () => {
  const { values, statusName, stateName } = moduleAbi();
  const names: Record<string, (value: number) => string | undefined> = {
    STATUS_: statusName, STATE_: stateName, QUIRK_: (v) => QUIRK_NAMES[v], REPORT_: (v) => REPORT_KINDS[v],
  };
  let rows = 0;
  for (const table of tablesWith("Value", "Constant")) {
    const nameColumn = table.header.indexOf("Name");
    for (const row of table.rows) {
      const constant = code(row[1]!);
      assert.equal(values.get(constant), Number(row[0]), `${constant} in docs/ABI.md`);
      rows++;
      if (nameColumn < 0) continue;
      const prefix = Object.keys(names).find((p) => constant.startsWith(p))!;
      assert.equal(code(row[nameColumn]!), names[prefix]!(Number(row[0])), `${constant}'s name`);
    }
  }
  assert.ok(rows > 140, `${rows} rows`);
});

test("docs/ABI.md: the limits are the memory map's, in the full and the device build; every shared number is documented", () => {
  const full = moduleAbi().values;
  const device = moduleAbi("abi.device.wasm").values;
  const documented = new Set<string>();
  for (const table of tablesWith("Constant", "Full", "Device")) {
    for (const row of table.rows) {
      const constant = code(row[0]!);
      documented.add(constant);
      assert.equal(full.get(constant), Number(row[1]), `${constant} (full)`);
      if (row[2] !== "—") assert.equal(device.get(constant), Number(row[2]), `${constant} (device)`);
    }
  }
  for (const table of tablesWith("Value", "Constant")) for (const row of table.rows) documented.add(code(row[1]!));
  // Every constant of assembly/abi.ts but the buffers' addresses is in a table.
  const undocumented = [...full.keys()].filter((name) => !documented.has(name) && !["IO_IN", "IO_OUT", "XML_EVENT"].includes(name));
  assert.deepEqual(undocumented, []);
});

/** A signature cell: "`(a: i32, b: i32) → i32`" → 2 parameters, 1 result; "global i32", "memory" → undefined. */
function parseSignature(cell: string): { params: number; results: number } | undefined {
  const match = /^\(([^)]*)\) → (\(\)|i32)$/.exec(code(cell));
  if (!match) return undefined;
  return { params: (match[1]!.match(/: i32/g) ?? []).length, results: match[2] === "i32" ? 1 : 0 };
}

/** For each build, what the document says it imports (or exports), with the signatures. */
function documented(header: string, prefix: string): Map<Build, Map<string, string>> {
  const out = new Map<Build, Map<string, string>>(BUILDS.map((b) => [b, new Map<string, string>()]));
  for (const table of tablesWith(header, "Signature", "Builds")) {
    for (const row of table.rows) {
      for (const build of row[2]!.split(", ")) out.get(build as Build)!.set(`${prefix}${code(row[0]!)}`, row[1]!);
    }
  }
  return out;
}

test("docs/ABI.md: every import and every export of every build, with its signature, and no more", () => {
  const imports = documented("Import", "vm.");
  const exports = documented("Export", "");
  for (const build of BUILDS) {
    const binary = readFileSync(modulePath(build));
    const module = new WebAssembly.Module(binary);
    const signatures = functionSignatures(binary);
    const vmImports = WebAssembly.Module.imports(module).filter((i) => i.module === "vm").map((i) => `vm.${i.name}`).sort();
    assert.deepEqual(vmImports, [...imports.get(build)!.keys()].sort(), `${build}: imports`);
    assert.deepEqual(WebAssembly.Module.exports(module).map((e) => e.name).sort(), [...exports.get(build)!.keys()].sort(), `${build}: exports`);
    for (const [list, doc] of [[signatures.imports, imports], [signatures.exports, exports]] as const) {
      for (const signature of list) {
        const cell = doc.get(build)!.get(signature.name);
        if (cell === undefined) continue; // env.abort: documented apart
        assert.deepEqual(parseSignature(cell), { params: signature.params, results: signature.results }, `${build}: ${signature.name} ${cell}`);
      }
    }
  }
});

test("docs/ABI.md: its C excerpts are in the C hosts as they are, and it needs no document outside the repository", () => {
  const sources = readFileSync(`${ROOT}port/host_stub.c`, "utf8") + readFileSync(`${ROOT}port/host_posix.c`, "utf8");
  const blocks = [...ABI_MD.matchAll(/```c\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.ok(blocks.length >= 5, `${blocks.length} excerpts`);
  for (const block of blocks) for (const line of block.split("\n").filter((l) => l.trim())) assert.ok(sources.includes(line), `not in port/host_*.c: ${line}`);
  assert.doesNotMatch(ABI_MD, /spec §|platform\.md/);
});
