// Targeted mutation testing (npm run mutate; long, outside CI): each mutation below changes one thing the tests
// should notice (an off-by-one, a timer, a quirk, a check left out), rebuilds, runs the fast suites and records
// whether a test failed ("caught") or not ("survived"). The source is restored after each one, and rebuilt at the end.
//
//   node scripts/mutate.mjs [--list] [--only N[,N...]]
//
// A mutation that survives is either a missing test or an equivalent change: the report says which it is worth
// looking at. The score is caught / all.

import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(fileURLToPath(new URL(".", import.meta.url)), "..");

/** [file, what, the exact text, its replacement]: each text must occur exactly once in its file. */
const MUTATIONS = [
  ["assembly/codec/base64.ts", "base64: bits under a single '=' not checked", "if ((accumulator & 0x3) != 0) return BASE64_BAD_PADDING;", ""],
  ["assembly/codec/base64.ts", "base64: bits under '==' not checked", "if ((accumulator & 0xf) != 0) return BASE64_BAD_PADDING;", ""],
  ["assembly/xml/tokenizer.ts", "tokenizer: attribute value bound off by one", "<i32>(p - start) > XML_ATTR_VALUE_MAX", "<i32>(p - start) >= XML_ATTR_VALUE_MAX"],
  ["assembly/xml/tokenizer.ts", "tokenizer: duplicate attributes allowed", "return fail(XML_ERROR_DUPLICATE_ATTRIBUTE);", "continue;"],
  ["assembly/xml/tokenizer.ts", "tokenizer: nesting one deeper than XML_DEPTH_MAX", "if (depth >= XML_DEPTH_MAX) return fail(XML_ERROR_TOO_DEEP);", "if (depth > XML_DEPTH_MAX) return fail(XML_ERROR_TOO_DEEP);"],
  ["assembly/xml/tokenizer.ts", "tree mode: a start tag that overflows the tree not reported at once", "  if (treeHeader(tree).overflowed) return kind;\n", ""],
  ["assembly/xml/tokenizer.ts", "tree mode: text that overflows the tree not reported at once", "return treeHeader(treeTarget).overflowed ? XML_TEXT : UNIT_NO_EVENT;", "return UNIT_NO_EVENT;"],
  ["assembly/xmpp/client.ts", "the login watchdog at 20 s instead of 12 s", "const LOGIN_WATCHDOG_MS: i32 = 12000;", "const LOGIN_WATCHDOG_MS: i32 = 20000;"],
  ["assembly/xmpp/client.ts", "reconnect delay from 4 s instead of 5 s", "const RECONNECT_DELAY_MS_MIN: i32 = 5000;", "const RECONNECT_DELAY_MS_MIN: i32 = 4000;"],
  ["assembly/xmpp/client.ts", "the keep-alive after 9 s instead of 8 s", "const KEEPALIVE_IDLE_S: i32 = 8;", "const KEEPALIVE_IDLE_S: i32 = 9;"],
  ["assembly/xmpp/client.ts", "the presence echo waited for 50 s", "const PRESENCE_ECHO_WAIT_MS: i32 = 5000;", "const PRESENCE_ECHO_WAIT_MS: i32 = 50000;"],
  ["assembly/xmpp/client.ts", "no session deadline", "const SESSION_DEADLINE_MS: i32 = 60000;", "const SESSION_DEADLINE_MS: i32 = 0x7fffffff;"],
  ["assembly/xmpp/client.ts", "close-reboots never reboots", "  return quirk(QUIRK_CLOSE_REBOOTS);\n", "  return false;\n"],
  ["assembly/xmpp/client.ts", "the answer to our own <abort/> taken as a refused login", "  if (!FIRMWARE_ONLY && abortSent) {\n", "  if (false) {\n"],
  ["assembly/xmpp/register.ts", "the registration password not XORed", "store<u8>(out + i, <u8>hexDigit((a ^ b) & 15));", "store<u8>(out + i, <u8>hexDigit(a & 15));"],
  ["assembly/xmpp/register.ts", "the stock form in the jabber namespace", "return registerForm == REGISTER_FORM_STOCK ? \"violet:iq:register\" : \"jabber:iq:register\";", "return \"jabber:iq:register\";"],
  ["assembly/crypto/md5.ts", "MD5: the firmware's extra block for lengths 56..63 mod 1024 not added", "return r >= 56 && r <= 63;", "return false;"],
  ["assembly/packet/packet.ts", "packets: the mode frame's sleep read as wake", "== 1 ? MODE_SLEEP : MODE_WAKE;", "== 1 ? MODE_WAKE : MODE_SLEEP;"],
  ["assembly/rabbit/base64-in.ts", "b64-dec-phase follows b64-dec-nul", "capacity, quirk(QUIRK_B64_DEC_NUL), quirk(QUIRK_B64_DEC_PHASE));", "capacity, quirk(QUIRK_B64_DEC_NUL), quirk(QUIRK_B64_DEC_NUL));"],
  ["host/quirks.ts", "standard profile without failure-reregister", "profile === \"firmware\" || name === \"failure-reregister\"", "profile === \"firmware\""],
  ["host/files.ts", "files written in place instead of temp and rename", "    fd = fs.open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, PRIVATE_FILE_MODE);", "    fd = fs.open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, PRIVATE_FILE_MODE);"],
  ["host/files.ts", "files 0644 instead of 0600", "export const PRIVATE_FILE_MODE = 0o600;", "export const PRIVATE_FILE_MODE = 0o644;"],
  ["host/vm/http.ts", "HTTP bodies not cut at 16 KiB", "export const HTTP_BODY_BYTES_MAX = 16384;", "export const HTTP_BODY_BYTES_MAX = 16384 * 1024;"],
  ["host/lab/http-server.ts", "the lab's API without its token", "    if (!token || !given || given.length !== token.length) return false;", "    if (!token || !given || given.length !== token.length) return true;"],
  ["host/lab/http-server.ts", "sendMailXMPP.jsp forgets any password", "const forgotten = !online && since !== undefined && since <= limits.LAB_FAILURE_REPORT_WINDOW_MS && o.accounts.forget(mac);", "const forgotten = o.accounts.forget(mac);"],
  ["host/lab/openjabnab.ts", "OpenJabNab's NUL after the cnonce left out", "const cnonce = `${cnonceSent}\\0`;", "const cnonce = cnonceSent;"],
  ["host/lab/openjabnab.ts", "OpenJabNab stores a password over another", "if (!this.platform.storeIfNone(user, sent, ojnXor(user, sent))) {", "if (!this.platform.storeIfNone(user, sent, ojnXor(user, sent)) && false) {"],
  ["host/lab/xml-stream.ts", "the lab without its depth limit", "if (this.depth > this.limits.depthMax) {", "if (false) {"],
  ["host/diagnose.ts", "failure loops said after 4 turns", "export const FAILURE_REPEATS_REPORTED = 3;", "export const FAILURE_REPEATS_REPORTED = 4;"],
  ["host/observe.ts", "passwords not masked", "let out = text.replace(/(<password>)([^<]*)(<\\/password>)/g, stars)", "let out = text"],
];

/** The fast suites: everything but the real servers, the port kit, the browser, the fleet and the fuzzers. */
function fastTests() {
  const skip = /^(ejabberd|prosody|port|fuzz|web-page|web-fleet|fleet)\./;
  return readdirSync(join(root, "build", "test")).filter((name) => name.endsWith(".test.js") && !skip.test(name)).map((name) => join("build", "test", name));
}

/** The fast suites, once: a hung test file fails after 5 minutes, the whole run after 15. */
function runFastSuites() {
  return spawnSync(process.execPath, ["--test", "--test-concurrency=2", "--test-timeout=300000", ...fastTests()], { cwd: root, encoding: "utf8", timeout: 900_000, maxBuffer: 256 * 1024 * 1024 });
}

function build(file) {
  execFileSync("npm", ["run", "--silent", file.startsWith("assembly/") ? "build:wasm" : "build:host"], { cwd: root, stdio: "ignore" });
}

function runOne(index, [file, what, from, to]) {
  const path = join(root, file);
  const original = readFileSync(path, "utf8");
  const count = original.split(from).length - 1;
  if (count !== 1) return { index, what, file, status: `not applied (the text occurs ${count} times)` };
  writeFileSync(path, original.replace(from, to));
  const started = Date.now();
  try {
    build(file);
    const result = runFastSuites();
    const failed = (/^# fail (\d+)/m.exec(result.stdout)?.[1] ?? "?");
    return { index, what, file, status: result.status === 0 ? "survived" : `caught (${failed} failing)`, seconds: Math.round((Date.now() - started) / 1000) };
  } catch (error) {
    return { index, what, file, status: `caught (build failed: ${String(error.message).split("\n")[0]})` };
  } finally {
    writeFileSync(path, original);
  }
}

const USAGE = "usage: node scripts/mutate.mjs [--list] [--only N[,N...]]   (it rewrites the source while it runs: use a copy)";

function main() {
  const args = process.argv.slice(2);
  // Anything else (--help, a typo) would start the hour-long run that rewrites the source: refuse it.
  const unknown = args.filter((arg, i) => arg !== "--list" && arg !== "--only" && !(args[i - 1] === "--only" && /^\d+(,\d+)*$/.test(arg)));
  if (unknown.length > 0 || (args.includes("--only") && !/^\d+(,\d+)*$/.test(args[args.indexOf("--only") + 1] ?? ""))) {
    console.error(unknown.includes("--help") || unknown.includes("-h") ? USAGE : `mutate: ${unknown.length > 0 ? `unknown argument ${unknown[0]}` : "--only wants N[,N...]"}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (args.includes("--list")) {
    MUTATIONS.forEach(([file, what], i) => console.log(`${String(i + 1).padStart(2)}  ${file}: ${what}`));
    return;
  }
  // A mutation whose text no longer occurs once tests nothing: say so before spending an hour.
  const stale = MUTATIONS.map(([file, what, from], i) => ({ i, file, what, count: readFileSync(join(root, file), "utf8").split(from).length - 1 })).filter((m) => m.count !== 1);
  if (stale.length > 0) {
    for (const m of stale) console.error(`mutate: #${m.i + 1} (${m.file}: ${m.what}): its text occurs ${m.count} times, not once`);
    process.exitCode = 2;
    return;
  }
  // The suites must pass as they are: a test that fails anyway would "catch" every mutation.
  const baseline = runFastSuites();
  if (baseline.status !== 0) {
    const failing = baseline.stdout.split("\n").filter((line) => /^\s*not ok /.test(line)).join("\n");
    console.error(`mutate: the fast suites fail without any mutation; fix them first:\n${failing}`);
    process.exitCode = 2;
    return;
  }
  const only = args.includes("--only") ? new Set(args[args.indexOf("--only") + 1].split(",").map(Number)) : undefined;
  const results = [];
  MUTATIONS.forEach((mutation, i) => {
    if (only && !only.has(i + 1)) return;
    const result = runOne(i + 1, mutation);
    results.push(result);
    console.log(`${String(result.index).padStart(2)}  ${result.status.padEnd(24)} ${result.file}: ${result.what}${result.seconds ? ` (${result.seconds} s)` : ""}`);
  });
  execFileSync("npm", ["run", "--silent", "build"], { cwd: root, stdio: "ignore" });
  const caught = results.filter((r) => r.status.startsWith("caught")).length;
  const survivors = results.filter((r) => r.status === "survived");
  console.log(`\nmutation score: ${caught} of ${results.length} caught (${Math.round((100 * caught) / Math.max(1, results.length))} %)`);
  for (const survivor of survivors) console.log(`survived: ${survivor.file}: ${survivor.what}`);
  process.exitCode = survivors.length === 0 ? 0 : 1;
}

main();
