// Every bound the lab keeps, in one place (README "Security" lists them). The lab is a test peer left running on a
// developer's machine: whatever reaches it is bounded in size, time and number, and what changes state needs the
// token (http-server.ts).

/** One stanza from a rabbit (tolerant dialect), bytes received while it is open. Beyond: policy-violation, close. */
export const LAB_STANZA_BYTES_MAX = 64 * 1024;
/** Text in one stanza, characters. */
export const LAB_TEXT_CHARS_MAX = 32 * 1024;
/** Element nesting inside a stanza. */
export const LAB_DEPTH_MAX = 16;
/** One socket read handed to the openjabnab dialect (OpenJabNab takes whatever readAll gives; Node reads ≤ 64 KiB). */
export const LAB_READ_BYTES_MAX = 64 * 1024;
/** XMPP connections at once, in total and from one address (a fleet spreads over several 127.x addresses). */
export const LAB_CONNECTIONS_MAX = 20_000;
export const LAB_CONNECTIONS_PER_ADDRESS_MAX = 5_000;
/** From connect to a finished login; slow senders (slowloris) cannot hold a connection longer. */
export const LAB_LOGIN_DEADLINE_MS = 120_000;
/** No byte from a logged-in rabbit for this long (it sends a keep-alive after 8 s idle): closed. */
export const LAB_IDLE_TIMEOUT_MS = 180_000;

/** HTTP: all headers must arrive within this time; the whole request within the next. */
export const LAB_HTTP_HEADERS_TIMEOUT_MS = 10_000;
export const LAB_HTTP_REQUEST_TIMEOUT_MS = 15_000;
export const LAB_HTTP_HEADER_BYTES_MAX = 8 * 1024;
/** HTTP connections at once; the lab's requests carry no body (a body is refused with 413). */
export const LAB_HTTP_CONNECTIONS_MAX = 1_024;
/** A packet sent through the API, decoded bytes (the rabbit's packet buffer is 8 KiB; its stanza reader less). */
export const LAB_PACKET_BYTES_MAX = 4 * 1024;
/** sendMailXMPP.jsp forgets a rabbit's password only this soon after that rabbit's own login or registration failed. */
export const LAB_FAILURE_REPORT_WINDOW_MS = 120_000;
/** Rabbits whose last failure the lab remembers for that (the oldest is forgotten first). */
export const LAB_FAILURES_TRACKED_MAX = 10_000;

/**
 * SASL in the tolerant dialect (sasl.ts and its mechanisms). The base64 text of one <auth> or <response>, characters
 * (a rabbit's longest, its DIGEST-MD5 response, is about 350), and the decoded message, bytes. Beyond:
 * malformed-request.
 */
export const LAB_SASL_BASE64_CHARS_MAX = 2048;
export const LAB_SASL_MESSAGE_BYTES_MAX = 1024;
/** A username (SCRAM's n=, PLAIN's authcid), characters once unescaped (a rabbit's is its 12-digit MAC). */
export const LAB_SASL_USERNAME_CHARS_MAX = 64;
/** PLAIN's authzid and password, bytes each (RFC 4616 asks a server to take at least 255). */
export const LAB_PLAIN_FIELD_BYTES_MAX = 255;
/** SCRAM-SHA-1: PBKDF2 iterations (RFC 7677's floor, what Prosody and ejabberd use) and the salt, per account. */
export const LAB_SCRAM_ITERATIONS = 4096;
export const LAB_SCRAM_SALT_BYTES = 16;
/** SCRAM-SHA-1: the server's part of the nonce, random bytes (24 base64 characters). */
export const LAB_SCRAM_SERVER_NONCE_BYTES = 18;
/** SCRAM-SHA-1: the client's nonce, characters (a rabbit sends 32, xmpp.js 24 or so). */
export const LAB_SCRAM_CLIENT_NONCE_CHARS_MAX = 128;
/** SCRAM-SHA-1: attributes in one message, extensions included (RFC 5802's have at most 4). */
export const LAB_SCRAM_ATTRIBUTES_MAX = 8;
