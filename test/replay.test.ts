// The founding document: the seed log, replayed exactly in the firmware profile.

import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { test } from "node:test";
import { replayFile, SEED_REPLAY_OPTIONS } from "../host/replay.js";
import { ROOT, SEED_LOG_PATH } from "./helpers.js";

const SEED_OPTIONS = SEED_REPLAY_OPTIONS;

test("the seed log replays exactly: both responses, the register set, both FailureLogin reports, the [vm] lines", () => {
  const result = replayFile(SEED_LOG_PATH, SEED_OPTIONS);
  assert.deepEqual(result.errors, []);
  assert.equal(result.ok, true);
  assert.equal(result.matched, result.expected);
  assert.equal(result.expected, 93);
  const sent = result.transcript.filter((line) => line.includes(" rabbit \""));
  const responses = sent.filter((line) => line.includes("<response"));
  assert.equal(responses.length, 2);
  for (const response of responses) {
    const payload = /<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>([^<]+)<\/response>/.exec(JSON.parse(response.slice(response.indexOf("\""))))![1]!;
    assert.equal(payload.length, 291);
    assert.ok(payload.endsWith("OA="));
  }
  assert.ok(sent.some((line) => line.includes("<password>b64df9cf54ab</password>")));
  const reports = result.transcript.filter((line) => line.includes("http GET almacska:3000/vl/sendMailXMPP.jsp?m=f81edfee27c1&d=almacska&r=FailureLogin&v=18673"));
  assert.equal(reports.length, 2);
});

test("two virtual-time runs with the same inputs give identical transcripts", () => {
  const first = replayFile(SEED_LOG_PATH, SEED_OPTIONS).transcript;
  const second = replayFile(SEED_LOG_PATH, SEED_OPTIONS).transcript;
  assert.ok(first.length > 100, `${first.length} lines`);
  assert.deepEqual(second, first);
});

test("a replay that differs fails, and says where", () => {
  const result = replayFile(SEED_LOG_PATH, { ...SEED_OPTIONS, rngState: 1 });
  assert.equal(result.ok, false);
  assert.match(result.errors[0]!, /log line 58: SEND differs from character \d+ on/);
  const wrongPassword = replayFile(SEED_LOG_PATH, { ...SEED_OPTIONS, times: new Map([[5, 20112]]) });
  assert.equal(wrongPassword.ok, false);
  assert.match(wrongPassword.errors[0]!, /<password>/);
});

test("nabaztag-vm replay (the command) exits 0 on the seed, 1 on a mismatch, 2 on bad usage", () => {
  const cli = `${ROOT}build/host/cli.js`;
  const args = ["replay", SEED_LOG_PATH, "--profile", "firmware", "--mac", "f8:1e:df:ee:27:c1", "--domain", "almacska",
    "--ping-server", "almacska:3000", "--flash-password", "ce6d760e8d8c", "--rng-state", "0", "--time", "5=20111"];
  const output = execFileSync(process.execPath, [cli, ...args], { encoding: "utf8" });
  assert.match(output, /^replay: OK, 93 of 93 log entries matched/);
  const mismatch = spawnSync(process.execPath, [cli, ...args.slice(0, -2), "--time", "5=30000"], { encoding: "utf8" });
  assert.equal(mismatch.status, 1);
  assert.match(mismatch.stdout, /differs from the log/);
  const usage = spawnSync(process.execPath, [cli, "replay", SEED_LOG_PATH, "--time", "five"], { encoding: "utf8" });
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /--time takes K=MS/);
});

test("the seed replays the same with due ticks: the same transcript as tick by tick", () => {
  const every = replayFile(SEED_LOG_PATH, SEED_OPTIONS);
  const due = replayFile(SEED_LOG_PATH, { ...SEED_OPTIONS, ticks: "due" });
  assert.equal(due.ok, true, due.errors.join("\n"));
  assert.deepEqual(due.transcript, every.transcript);
});
