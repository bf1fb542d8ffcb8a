// Reading debug logs in the seed's format (../shared/seed/nabaztag-openfire-debug.log): SEND: and RECEIVE: blocks as a
// capture tool printed them, and the rabbit's own UART lines prefixed "[vm] ". Titles ("*** ... ***"), "##" comments
// and blank lines belong to the capturer and are skipped.

export interface LogBlock {
  type: "send" | "receive";
  /** The block's lines as printed (a block ends at a blank line, a [vm] line or the next marker). */
  lines: string[];
  /** 1-based line number of the SEND:/RECEIVE: marker. */
  line: number;
}

export interface LogVmLine {
  type: "vm";
  /** The UART line without the "[vm] " prefix (trailing spaces kept). */
  text: string;
  line: number;
}

export type LogEntry = LogBlock | LogVmLine;

const VM_PREFIX = "[vm] ";

export function parseDebugLog(text: string): LogEntry[] {
  const entries: LogEntry[] = [];
  const lines = text.split(/\r?\n/);
  let block: LogBlock | undefined;
  let blockOpen = false; // still collecting content lines
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw.startsWith(VM_PREFIX) || raw === "[vm]") {
      blockOpen = false;
      entries.push({ type: "vm", text: raw.slice(VM_PREFIX.length), line });
      return;
    }
    const trimmed = raw.trim();
    if (trimmed === "SEND:" || trimmed === "RECEIVE:") {
      block = { type: trimmed === "SEND:" ? "send" : "receive", lines: [], line };
      entries.push(block);
      blockOpen = true;
      return;
    }
    if (trimmed === "") {
      if (block && block.lines.length > 0) blockOpen = false;
      return;
    }
    if (trimmed.startsWith("##") || /^\*\*.*\*\*$/.test(trimmed)) {
      blockOpen = false;
      return;
    }
    if (block && blockOpen) block.lines.push(raw);
  });
  return entries.filter((entry) => entry.type === "vm" || entry.lines.length > 0);
}

/** A stream header as the log prints it: the XML declaration and the stream tag on two lines (real line breaks). */
function isPrintedStreamHeader(lines: string[]): boolean {
  return lines.length === 2 && lines[0]!.trim().startsWith("<?xml") && lines[1]!.trim().startsWith("<stream:stream");
}

/**
 * The bytes a block stood for on the wire. Single lines are exact. The two-line stream header has real line breaks
 * (and the rabbit ends it with one more). Any other multi-line block was pretty-printed by the capturer (spec §13.3):
 * its line breaks and indentation, which fall between tags, are dropped.
 */
export function blockWireText(block: LogBlock): string {
  if (block.lines.length === 1) return block.lines[0]!;
  if (isPrintedStreamHeader(block.lines)) return block.lines.map((l) => l.trim()).join("\n") + "\n";
  return block.lines.map((l) => l.trim()).join("");
}

/** Whether the capturer pretty-printed this block (whitespace between tags is then not significant). */
export function blockIsPrettyPrinted(block: LogBlock): boolean {
  return block.lines.length > 1 && !isPrintedStreamHeader(block.lines);
}

/** XML with the whitespace between tags removed, for comparing against pretty-printed blocks. */
export function withoutInterTagWhitespace(xml: string): string {
  return xml.replace(/>\s+</g, "><").trim();
}

/** A TCP connection's server messages, as the RECEIVE blocks of a log show them (a new one at each stream header). */
export interface LoggedConnection {
  blocks: LogBlock[];
  /** Each block's wire bytes (blockWireText, Latin-1). */
  wire: Buffer[];
}

export function serverConnections(entries: LogEntry[]): LoggedConnection[] {
  const connections: LoggedConnection[] = [];
  for (const entry of entries) {
    if (entry.type !== "receive") continue;
    const wire = Buffer.from(blockWireText(entry), "latin1");
    if (wire.includes("<stream:stream") || connections.length === 0) connections.push({ blocks: [], wire: [] });
    connections.at(-1)!.blocks.push(entry);
    connections.at(-1)!.wire.push(wire);
  }
  return connections;
}

/** A tree dump in a log: the consecutive "    |" / "    !" lines, and the RECEIVE block they follow. */
export interface LoggedDump {
  received: LogBlock;
  lines: string[];
}

const DUMP_LINE = /^ {4}[|!]/;

export function loggedDumps(entries: LogEntry[]): LoggedDump[] {
  const dumps: LoggedDump[] = [];
  let received: LogBlock | undefined;
  let previousWasDump = false;
  for (const entry of entries) {
    if (entry.type === "receive") received = entry;
    const isDump = entry.type === "vm" && DUMP_LINE.test(entry.text);
    if (isDump && received) {
      if (previousWasDump) dumps.at(-1)!.lines.push(entry.text);
      else dumps.push({ received, lines: [entry.text] });
    }
    previousWasDump = isDump;
  }
  return dumps;
}

/**
 * The part of a server message the firmware parses as stanzas: after the stream header if the message carries one
 * (the first '>' after "<stream:stream" ends it, spec §4).
 */
export function afterStreamHeader(wire: Buffer): Buffer {
  const header = wire.indexOf("<stream:stream");
  return header < 0 ? wire : wire.subarray(wire.indexOf(">", header) + 1);
}
