// Server-sent events for the web page (node:http, no dependency): one stream per open page, each starting with a
// snapshot and then the changes (state.ts's WebEvent: {"rabbit":"0019db01dbd7","kind":"led",...}). A stream asks for
// one rabbit (/events?rabbit=MAC: everything, logs included) or all of them (/events: the summary kinds only, for a
// fleet view), and gets the lab's events either way.
//
// Bounded, so that a thousand rabbits' events or a stuck browser cannot choke the host: at most WEB_CLIENTS_MAX
// streams; nothing is serialized while no page is open; each event is serialized once and written with the others
// of the last WEB_FLUSH_MS in one write per stream; a stream whose unsent bytes pass WEB_CLIENT_BACKLOG_BYTES_MAX is
// dropped (its page reconnects and starts again from a snapshot); a heartbeat comment every WEB_HEARTBEAT_MS.

import type { ServerResponse } from "node:http";
import { WEB_CLIENT_BACKLOG_BYTES_MAX, WEB_CLIENTS_MAX, WEB_FLUSH_MS, WEB_HEARTBEAT_MS, WEB_PENDING_EVENTS_MAX, WEB_RETRY_MS } from "./limits.js";
import { LOG_KINDS, type WebEvent } from "./state.js";

interface Client {
  response: ServerResponse;
  /** Only this rabbit's events (and the lab's); undefined: every rabbit's. */
  rabbit: string | undefined;
  /** Pending events before this one are already in the stream's snapshot. */
  from: number;
}

interface Pending {
  rabbit: string | undefined;
  /** A log kind (stanza, HTTP call): only for the streams of that one rabbit. */
  log: boolean;
  text: string;
}

export interface EventHubOptions {
  /** The first event of a stream: everything the page shows, for one rabbit or all. */
  snapshot: (rabbit: string | undefined) => WebEvent;
  clientsMax?: number;
  backlogBytesMax?: number;
  heartbeatMs?: number;
}

const message = (event: WebEvent) => `data: ${JSON.stringify(event)}\n\n`;

export class EventHub {
  private readonly clients = new Set<Client>();
  private pending: Pending[] = [];
  /** Events were dropped before a flush: every stream gets a fresh snapshot instead. */
  private resync = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly heartbeat: NodeJS.Timeout;
  /** Streams dropped for a backlog, since the start. */
  dropped = 0;

  constructor(private readonly options: EventHubOptions) {
    this.heartbeat = setInterval(() => this.writeAll(": heartbeat\n\n"), options.heartbeatMs ?? WEB_HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Whether one more stream may open. */
  get full(): boolean {
    return this.clients.size >= (this.options.clientsMax ?? WEB_CLIENTS_MAX);
  }

  /** Starts a stream on `response` (the caller checked `full`). */
  open(response: ServerResponse, rabbit: string | undefined): void {
    const client: Client = { response, rabbit, from: this.pending.length };
    this.clients.add(client);
    response.on("close", () => this.clients.delete(client));
    response.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
    });
    // Headers go out now: the browser's EventSource counts as open only once it has them.
    response.flushHeaders();
    this.write(client, `retry: ${WEB_RETRY_MS}\n\n${message(this.options.snapshot(rabbit))}`);
  }

  /** Queues one change for every stream that wants it. */
  publish(event: WebEvent): void {
    if (this.clients.size === 0) return;
    if (this.pending.length >= WEB_PENDING_EVENTS_MAX) {
      this.pending = [];
      this.resync = true;
    }
    const log = LOG_KINDS.has(event.kind);
    // Nobody watches this rabbit's logs: not even serialized.
    if (log && !this.watched(event.rabbit)) return;
    if (!this.resync) this.pending.push({ rabbit: event.rabbit, log, text: message(event) });
    this.flushTimer ??= setTimeout(() => this.flush(), WEB_FLUSH_MS);
  }

  close(): void {
    clearInterval(this.heartbeat);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    for (const client of this.clients) client.response.destroy();
    this.clients.clear();
  }

  private flush(): void {
    this.flushTimer = undefined;
    const pending = this.pending;
    const resync = this.resync;
    this.pending = [];
    this.resync = false;
    // Built once for the streams of every rabbit; per rabbit only for the streams that asked for one.
    let summary: string | undefined;
    for (const client of [...this.clients]) {
      const from = client.from;
      client.from = 0;
      if (resync) {
        this.write(client, message(this.options.snapshot(client.rabbit)));
        continue;
      }
      const wanted = (entry: Pending) => (client.rabbit === undefined ? !entry.log : entry.rabbit === undefined || entry.rabbit === client.rabbit);
      const text = client.rabbit === undefined && from === 0
        ? (summary ??= pending.filter(wanted).map((entry) => entry.text).join(""))
        : pending.slice(from).filter(wanted).map((entry) => entry.text).join("");
      if (text) this.write(client, text);
    }
  }

  /** Whether a stream follows this one rabbit. */
  private watched(rabbit: string | undefined): boolean {
    for (const client of this.clients) if (client.rabbit === rabbit) return true;
    return false;
  }

  private writeAll(text: string): void {
    for (const client of [...this.clients]) this.write(client, text);
  }

  /** Writes, or drops a client that has not taken what it was sent (a snapshot, however large, goes out whole). */
  private write(client: Client, text: string): void {
    const { response } = client;
    if (response.writableLength > (this.options.backlogBytesMax ?? WEB_CLIENT_BACKLOG_BYTES_MAX)) {
      this.dropped++;
      this.clients.delete(client);
      response.destroy();
      return;
    }
    response.write(text);
  }
}
