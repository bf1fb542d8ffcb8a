// What keeps the lab safe to leave running, on virtual time: sendMailXMPP.jsp cannot be used to take an online
// rabbit over; the token file is private; a lab off loopback says so.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { isLoopback, startLab } from "../host/lab/lab.js";
import { LAB_FAILURE_REPORT_WINDOW_MS } from "../host/lab/limits.js";
import { labWorld } from "./lab-world.js";

const MAC = "0019db01dbd7";
const report = (mac: string) => `10.0.0.1:80/vl/sendMailXMPP.jsp?m=${mac}&d=almacska&r=FailureLogin&v=18673`;

test("sendMailXMPP.jsp: a stranger cannot make the lab forget an online rabbit's password; the rabbit's own report after a failed login can", () => {
  const world = labWorld("tolerant");
  const rabbit = world.addRabbit({ mac: MAC });
  world.run(60_000, () => rabbit.reports.some((r) => r.kind === "online") && rabbit.rabbit.state === "ssFree");
  const password = world.lab.accounts.get(MAC)?.password;
  assert.ok(password, "registered");

  // A stranger reports a failure for the online rabbit: the password stays, the lab says why.
  assert.equal(world.lab.answer(report(MAC))?.status, 200);
  assert.equal(world.lab.accounts.get(MAC)?.password, password);
  assert.deepEqual(world.lab.http.failureReports.at(-1), { mac: MAC, reason: "FailureLogin", forgotten: false });
  // Nor for a rabbit that is not online and never failed here.
  world.lab.accounts.register("0019db000077", "112233445566");
  world.lab.answer(report("0019db000077"));
  assert.ok(world.lab.accounts.get("0019db000077"), "kept: no failed login of it here");

  // The rabbit forgets its password (a fresh flash): its login fails, it reports, the lab forgets, it registers again.
  const second = labWorld("tolerant");
  second.lab.accounts.register(MAC, "00112233aabb");
  const fresh = second.addRabbit({ mac: MAC, password: "aaaaaaaaaaaa" });
  second.run(120_000, () => fresh.reports.some((r) => r.kind === "online") && fresh.rabbit.state === "ssFree");
  assert.deepEqual(second.lab.http.failureReports.map((r) => r.forgotten), [true]);
  assert.ok(fresh.reports.some((r) => r.kind === "online"), "online again after re-registering");

  // A report long after the failure is too late.
  const late = labWorld("tolerant");
  late.lab.accounts.register(MAC, "00112233aabb");
  late.lab.xmpp.emit({ type: "login-failed", mac: MAC, reason: "wrong password" });
  late.run(LAB_FAILURE_REPORT_WINDOW_MS + 1000);
  late.lab.answer(report(MAC));
  assert.equal(late.lab.http.failureReports.at(-1)?.forgotten, false);
  assert.ok(late.lab.accounts.get(MAC));
});

test("the lab's token: printed, and written 0600 in a 0700 directory; every start a new one", async () => {
  const home = mkdtempSync(join(tmpdir(), "nabaztag-token-"));
  try {
    const tokenFile = join(home, "state", "lab-token");
    // Each lab is closed whatever its assertions say: a lab left listening would keep the test process alive.
    const first = await startLab({ tokenFile });
    try {
      const written = readFileSync(tokenFile, "utf8");
      assert.equal(written, `${first.token}\n`);
      assert.match(first.token, /^[0-9a-f]{32}$/);
      assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
      assert.equal(statSync(join(home, "state")).mode & 0o777, 0o700);
    } finally {
      await first.close();
    }
    const second = await startLab({ tokenFile });
    try {
      assert.notEqual(second.token, first.token);
      assert.equal(readFileSync(tokenFile, "utf8"), `${second.token}\n`);
    } finally {
      await second.close();
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test("loopback or not: what the lab warns about", () => {
  for (const host of ["127.0.0.1", "127.3.4.5", "::1", "localhost"]) assert.equal(isLoopback(host), true, host);
  for (const host of ["0.0.0.0", "::", "192.168.1.2", "10.0.0.1"]) assert.equal(isLoopback(host), false, host);
});
