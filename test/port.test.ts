// The port kit (port/README.md): the C host built from the module with wasm2c, natively and for ARMv4T Thumb under
// qemu-arm, against the Node host, byte for byte. The tools come from `node scripts/prepare.mjs --test` (npm test's
// pretest): this test never skips.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { ROOT } from "./helpers.js";

const CHECKS = ["core vectors", "rabbit vectors", "seed replay", "reboot replay", "device seed replay", "device reboot replay"];

test("the port kit (port/test.mjs, what npm run port:test runs): the C host gives the Node host's outputs natively and on ARMv4T", () => {
  const result = spawnSync(process.execPath, [`${ROOT}port/test.mjs`], { cwd: ROOT, encoding: "utf8", timeout: 300_000 });
  const lines = result.stdout.split("\n").filter((line) => /^(OK|FAIL) /.test(line));
  const report = `${result.stdout}${result.stderr}`;
  const status = new Map(lines.map((line) => {
    const match = /^(OK|FAIL) +([^:]+):/.exec(line)!;
    return [match[2]!, match[1]!];
  }));
  const expected = ["build", ...CHECKS.map((c) => `native ${c}`), ...CHECKS.map((c) => `arm (qemu-arm-static -cpu ti925t) ${c}`), "arm v4t", "arm device v4t", "device arena", "arm sizes"];
  for (const name of expected) {
    // qemu-user names its binary qemu-arm, qemu-user-static qemu-arm-static: either will do.
    const found = status.get(name) ?? status.get(name.replace("qemu-arm-static", "qemu-arm"));
    assert.equal(found, "OK", `${name}\n${report}`);
  }
  assert.ok(!lines.some((line) => line.startsWith("FAIL")), report);
  assert.equal(result.status, 0, report);
});
