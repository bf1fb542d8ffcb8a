// `nabaztag-vm selfcheck`: loads the module, shows its memory map, tokenizes the seed log's server messages and
// dumps their stanzas as the rabbit's UART would, comparing each dump with the seed's. Exit status 0 when all match.

import { readFileSync } from "node:fs";
import { Core, modulePath } from "./core.js";
import { afterStreamHeader, loggedDumps, parseDebugLog, serverConnections, type LogBlock } from "./debug-log.js";
import { memoryLimits } from "./wasm-info.js";
import { tokenize } from "./xml.js";

export function selfcheck(logPath: string, out: (line: string) => void): boolean {
  const binary = readFileSync(modulePath("release"));
  const limits = memoryLimits(binary);
  const uart: string[] = [];
  const core = Core.load({ uartWrite: (bytes) => uart.push(Buffer.from(bytes).toString("latin1")) });
  out(`module ${modulePath("release")}: ${binary.length} bytes`);
  out(`memory: ${limits.initial} pages initial, ${limits.maximum ?? "no"} maximum (fixed arena); static data ends at ${core.exports.arena_end()}`);

  const entries = parseDebugLog(readFileSync(logPath, "latin1"));
  const connections = serverConnections(entries);
  if (connections.length === 0) {
    out(`selfcheck: FAILED: ${logPath} holds no server messages (RECEIVE blocks) in the seed's format; nothing to check`);
    return false;
  }
  let ok = true;
  connections.forEach((connection, index) => {
    const result = tokenize(core, connection.wire);
    const stanzas = result.events.filter((e) => e.kind === "ELEMENT_START" && e.level === 1).length;
    out(`connection ${index + 1}: ${connection.wire.length} server messages, ${result.events.length} XML events, ${stanzas} stanzas${result.error ? `, error: ${result.error}` : ""}`);
    if (result.error) ok = false;
  });

  const wireByBlock = new Map<LogBlock, Buffer>();
  for (const connection of connections) connection.blocks.forEach((block, i) => wireByBlock.set(block, connection.wire[i]!));
  const e = core.exports;
  e.quirks_set_all(1);
  for (const dump of loggedDumps(entries)) {
    const stanza = afterStreamHeader(wireByBlock.get(dump.received)!);
    uart.length = 0;
    const read = e.firmware_read(core.put(stanza), stanza.length, 0);
    if (read === 1) e.stanza_dump(0);
    const lines = uart.join("").split("\n").slice(0, -1);
    const same = lines.length === dump.lines.length && lines.every((line, i) => line === dump.lines[i]);
    out("");
    out(`[vm] Receive : `);
    for (const line of lines) out(`[vm] ${line}`);
    out(same ? `   = matches the seed's dump (log line ${dump.received.line})` : `   ! differs from the seed's dump (log line ${dump.received.line})`);
    if (!same) ok = false;
  }
  out("");
  out(ok ? "selfcheck: OK" : "selfcheck: FAILED");
  return ok;
}
