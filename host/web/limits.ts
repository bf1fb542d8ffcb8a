// Every bound the rabbit's web page keeps, in one place (README "The web page"). The page is served on loopback to
// one person's browser; whatever reaches it is bounded in size, time and number like the lab (lab/limits.ts), and
// what changes state needs the page's token (server.ts).

/** Server-sent event streams at once; one more is turned away with 503. */
export const WEB_CLIENTS_MAX = 16;
/** Bytes written to one stream and not yet taken by its client: past this, a client that cannot keep up is dropped. */
export const WEB_CLIENT_BACKLOG_BYTES_MAX = 1024 * 1024;
/** A comment on every stream this often, so that proxies and the browser see it alive. */
export const WEB_HEARTBEAT_MS = 15_000;
/** Events are gathered this long and written to each stream in one piece (one write per client, not per event). */
export const WEB_FLUSH_MS = 50;
/** Events waiting for the next flush; beyond, the oldest give way and every stream gets a fresh snapshot. */
export const WEB_PENDING_EVENTS_MAX = 20_000;
/** How long the browser waits before reconnecting a lost stream (sent in the stream's `retry:` field). */
export const WEB_RETRY_MS = 2_000;

/** Stanzas in and out, HTTP calls and lab lines a page keeps per rabbit (the oldest go first). */
export const WEB_LOG_ENTRIES_MAX = 50;
/** One stanza as shown on the page, characters (the rest is cut with "…"). */
export const WEB_STANZA_CHARS_MAX = 2_000;
/** The lab's online list is read again at most this often, whatever the number of lab events. */
export const WEB_LAB_REFRESH_MS = 250;

/** HTTP: all headers within this time, the whole request within the next; header bytes; connections at once. */
export const WEB_HEADERS_TIMEOUT_MS = 10_000;
export const WEB_REQUEST_TIMEOUT_MS = 15_000;
export const WEB_HEADER_BYTES_MAX = 8 * 1024;
export const WEB_CONNECTIONS_MAX = 64;
/** A POST's JSON body; a larger one is refused with 413. */
export const WEB_BODY_BYTES_MAX = 1024;
/** A request target, characters. */
export const WEB_TARGET_CHARS_MAX = 1024;
