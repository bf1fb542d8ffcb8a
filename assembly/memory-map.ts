// The rabbit's whole memory, sized up front.
//
// Every buffer the module uses is declared here and nowhere else, so a porter sees the complete memory map at once.
// `memory.data(size, align)` reserves zero-filled static memory at compile time; nothing is ever allocated at run time
// (there is no allocator: see runtime/none.ts) and the linear memory never grows (asconfig.json declares equal initial
// and maximum sizes). Each bound below is enforced by the code that uses the buffer: exceeding one is a clean error
// code, never a write past the end.
//
// Sized per build (assembly/build.ts). Every buffer is `@lazy`: a build reserves a buffer only if code it compiles
// uses it, so the core has none of the rabbit's buffers and the device build none of the standard profile's (the
// tokenizer's, SHA-1's, SCRAM's) nor the test points'. The device build (FIRMWARE_ONLY) also takes smaller capacities,
// chosen for the real rabbit's RAM (docs/ABI.md, "Builds", has the table): with them the whole map and the module's
// static data fit in under 32 KiB. arena_end() says where a build's memory map ends.
//
// Sizes are in bytes unless the name says otherwise.

import { FIRMWARE_ONLY } from "./build";
import { FLASH_SERVER_URL_SIZE } from "./flash-map";

/** First byte past the module's static memory: everything the module uses lies below it. */
export function arena_end(): usize {
  return __heap_base;
}

// ---------------------------------------------------------------------------------------------------------------------
// Exchange with the host. The host writes into IO_IN and reads results out of IO_OUT; both sides pass (pointer, length)
// pairs that point into these two buffers.

/**
 * Bytes the host may place in IO_IN at once (one TCP read, an HTTP body, an argument). A host hands a larger read
 * over in pieces of this size, and an HTTP body beyond it is cut (locate.jsp's is a few lines).
 */
export const IO_IN_CAPACITY: i32 = FIRMWARE_ONLY ? 1024 : 16384;
// @ts-ignore: decorator
@lazy export const IO_IN: usize = memory.data(IO_IN_CAPACITY, 16);

/** Results the module hands back to the host (digests, base64 text, decoded bytes). */
export const IO_OUT_CAPACITY: i32 = 16384;
// @ts-ignore: decorator
@lazy export const IO_OUT: usize = memory.data(IO_OUT_CAPACITY, 16);

// ---------------------------------------------------------------------------------------------------------------------
// Debug UART: one line is assembled here, then handed to the host's uart_write.

/**
 * The UART line buffer. A line longer than this goes out in pieces (a uart_write whenever the buffer is full, the last
 * piece ending in "\n"): no line is ever cut, so the buffer's size changes only how many writes a line takes.
 */
export const UART_LINE_CAPACITY: i32 = FIRMWARE_ONLY ? 128 : 4096;
// @ts-ignore: decorator
@lazy export const UART_LINE: usize = memory.data(UART_LINE_CAPACITY, 16);
/** State of the line's Writer (util/writer.ts). */
export const WRITER_STATE_SIZE: i32 = 16;
// @ts-ignore: decorator
@lazy export const UART_WRITER: usize = memory.data(WRITER_STATE_SIZE, 16);

// ---------------------------------------------------------------------------------------------------------------------
// MD5 (crypto/md5.ts): the 64-byte block being filled between updates.

// @ts-ignore: decorator
@lazy export const MD5_BLOCK: usize = memory.data(64, 16);

// ---------------------------------------------------------------------------------------------------------------------
// SHA-1, HMAC-SHA-1, PBKDF2 (crypto/sha1.ts, crypto/hmac.ts, crypto/pbkdf2.ts), for SCRAM-SHA-1. A SHA-1 context is a
// record (state, fill, length, partial block) so that HMAC can keep its inner and outer states side by side.

export const SHA1_CONTEXT_SIZE: i32 = 96;
/** The context for plain digests (the sha1_* exports, SCRAM's StoredKey). */
// @ts-ignore: decorator
@lazy export const SHA1_CONTEXT: usize = memory.data(SHA1_CONTEXT_SIZE, 16);
/** SHA-1's message schedule: the last 16 words, a ring. */
// @ts-ignore: decorator
@lazy export const SHA1_SCHEDULE: usize = memory.data(64, 16);
/** HMAC: the states after the key's inner and outer pad blocks, the message being hashed, the key block. */
// @ts-ignore: decorator
@lazy export const HMAC_INNER: usize = memory.data(SHA1_CONTEXT_SIZE, 16);
// @ts-ignore: decorator
@lazy export const HMAC_OUTER: usize = memory.data(SHA1_CONTEXT_SIZE, 16);
// @ts-ignore: decorator
@lazy export const HMAC_WORK: usize = memory.data(SHA1_CONTEXT_SIZE, 16);
// @ts-ignore: decorator
@lazy export const HMAC_PAD: usize = memory.data(64, 16);
// @ts-ignore: decorator
@lazy export const HMAC_INNER_DIGEST: usize = memory.data(20, 16);
/** PBKDF2: the one padded block both HMAC halves hash (a 20-byte message after the key block), a state, the sum. */
// @ts-ignore: decorator
@lazy export const PBKDF2_BLOCK: usize = memory.data(64, 16);
// @ts-ignore: decorator
@lazy export const PBKDF2_STATE: usize = memory.data(20, 16);
// @ts-ignore: decorator
@lazy export const PBKDF2_SUM: usize = memory.data(20, 16);

// ---------------------------------------------------------------------------------------------------------------------
// Base64 (codec/base64.ts): reverse lookup, 0xFF = not in the alphabet. Filled once at start.

// @ts-ignore: decorator
@lazy export const BASE64_DECODE_TABLE: usize = memory.data(256, 16);

// ---------------------------------------------------------------------------------------------------------------------
// XML stream tokenizer (xml/tokenizer.ts). Each bound has its own error code (xml/tokenizer.ts, XmlError).

/** Byte classes of the tokenizer's fast paths, one flag byte per byte value. Filled once at start. */
// @ts-ignore: decorator
@lazy export const XML_CLASS_TABLE: usize = memory.data(256, 16);

/** Longest element or attribute name, prefix included. */
export const XML_NAME_CAPACITY: i32 = 128;

/** Most attributes on one start tag (a stream header carries about seven). */
export const XML_ATTRS_MAX: i32 = 24;
/** Per attribute: name pointer, name length, value pointer, value length (4 x i32). */
export const XML_ATTR_RECORD_SIZE: i32 = 16;
// @ts-ignore: decorator
@lazy export const XML_ATTR_TABLE: usize = memory.data(XML_ATTRS_MAX * XML_ATTR_RECORD_SIZE, 16);
/** Longest attribute value, after reference decoding. */
export const XML_ATTR_VALUE_MAX: i32 = 2048;
/** Attribute values that references or whitespace normalization changed, for one start tag together. */
export const XML_ATTR_POOL_CAPACITY: i32 = 4096;
// @ts-ignore: decorator
@lazy export const XML_ATTR_POOL: usize = memory.data(XML_ATTR_POOL_CAPACITY, 16);

/** Longest text node (character data between two tags, CDATA included), after entity decoding. */
export const XML_TEXT_BUFFER_CAPACITY: i32 = 16384;
// @ts-ignore: decorator
@lazy export const XML_TEXT_BUFFER: usize = memory.data(XML_TEXT_BUFFER_CAPACITY, 16);

/** Deepest element nesting, the stream element counting as one (device: a Violet stanza nests 5 deep at most). */
export const XML_DEPTH_MAX: i32 = FIRMWARE_ONLY ? 16 : 32;
/** Per open element: name offset, name length | prefix length << 16, namespace pointer, namespace length (4 x i32). */
export const XML_OPEN_RECORD_SIZE: i32 = 16;
// @ts-ignore: decorator
@lazy export const XML_OPEN_TABLE: usize = memory.data(XML_DEPTH_MAX * XML_OPEN_RECORD_SIZE, 16);
/** Names of the open elements (needed to match end tags); holds XML_DEPTH_MAX names of the longest length. */
export const XML_OPEN_POOL_CAPACITY: i32 = XML_DEPTH_MAX * XML_NAME_CAPACITY;
/** Names are copied eight bytes at a time: the last copy may write up to 7 bytes past the pool's capacity. */
export const XML_OPEN_POOL_SLACK: i32 = 8;
// @ts-ignore: decorator
@lazy export const XML_OPEN_POOL: usize = memory.data(XML_OPEN_POOL_CAPACITY + XML_OPEN_POOL_SLACK, 16);

/** Namespace declarations in scope (xmlns and xmlns:p). */
export const XML_NS_MAX: i32 = 32;
/** Per declaration: level, prefix offset, prefix length, URI offset, URI length (5 x i32) into XML_NS_POOL. */
export const XML_NS_RECORD_SIZE: i32 = 20;
// @ts-ignore: decorator
@lazy export const XML_NS_TABLE: usize = memory.data(XML_NS_MAX * XML_NS_RECORD_SIZE, 16);
export const XML_NS_POOL_CAPACITY: i32 = 2048;
// @ts-ignore: decorator
@lazy export const XML_NS_POOL: usize = memory.data(XML_NS_POOL_CAPACITY, 16);

/**
 * Markup cut off by the end of a chunk (a tag, an end tag, a reference, the XML declaration) is collected here until
 * it is complete, then parsed from here. Also the bound on a start tag's size as received.
 */
export const XML_CARRY_CAPACITY: i32 = 4096;
// @ts-ignore: decorator
@lazy export const XML_CARRY: usize = memory.data(XML_CARRY_CAPACITY, 16);

/** The tokenizer's current event, read by the stanza builder and by the host (layout: xml/tokenizer.ts, XmlEvent). */
export const XML_EVENT_SIZE: i32 = 44;
// @ts-ignore: decorator
@lazy export const XML_EVENT: usize = memory.data(XML_EVENT_SIZE, 16);

// ---------------------------------------------------------------------------------------------------------------------
// Stanza trees (xml/tree.ts): a parsed stanza, as the state machine and the debug dump read it. A tree owns copies of
// all its strings, so the input buffers can move on while it waits in the queue.

/** Elements and text nodes in one stanza. */
export const TREE_NODES_MAX: i32 = FIRMWARE_ONLY ? 48 : 160;
/** Per node (xml/tree.ts, TreeNode). */
export const TREE_NODE_SIZE: i32 = 24;
/** Attributes in one stanza. */
export const TREE_ATTRS_MAX: i32 = FIRMWARE_ONLY ? 24 : 160;
/** Per attribute (xml/tree.ts, TreeAttribute). */
export const TREE_ATTR_SIZE: i32 = 16;
/** Names, values and text of one stanza together (device: its names and text, raw, fit it: FW_RX_CAPACITY). */
export const TREE_POOL_CAPACITY: i32 = FIRMWARE_ONLY ? 2048 : 12288;
/** A slot: header (xml/tree.ts, TreeHeader), nodes, attributes, pool. */
export const TREE_HEADER_SIZE: i32 = 16;
export const TREE_SLOT_SIZE: i32 = TREE_HEADER_SIZE + TREE_NODES_MAX * TREE_NODE_SIZE + TREE_ATTRS_MAX * TREE_ATTR_SIZE + TREE_POOL_CAPACITY;
/**
 * Stanza slots: a stanza is built in a free one; the state machine's input queue holds the others (received, not yet
 * taken by the state waiting). The device's queue holds two: what a state waits for and one stanza that came before.
 */
export const TREE_SLOTS: i32 = FIRMWARE_ONLY ? 3 : 5;
// @ts-ignore: decorator
@lazy export const TREE_SLOT_AREA: usize = memory.data(TREE_SLOT_SIZE * TREE_SLOTS, 16);

/** The tree builder's stack of open element nodes (one i32 node index per level). */
// @ts-ignore: decorator
@lazy export const TREE_OPEN_STACK: usize = memory.data(XML_DEPTH_MAX * 4, 16);

// ---------------------------------------------------------------------------------------------------------------------
// The firmware's XML reader (xml/firmware-reader.ts): its explicit stack replaces the original's recursion. Per level:
// the content region's current position and its end (2 x i32).

export const FW_READER_RECORD_SIZE: i32 = 8;
// @ts-ignore: decorator
@lazy export const FW_READER_STACK: usize = memory.data(XML_DEPTH_MAX * FW_READER_RECORD_SIZE, 16);

/** Accumulated received bytes, as the firmware keeps them until a whole element is there: the largest stanza. */
export const FW_RX_CAPACITY: i32 = FIRMWARE_ONLY ? 3072 : 16384;
// @ts-ignore: decorator
@lazy export const FW_RX: usize = memory.data(FW_RX_CAPACITY, 16);

// ---------------------------------------------------------------------------------------------------------------------
// The rabbit (rabbit/, xmpp/, packet/).

/** Bytes waiting to be sent on the TCP connection (partial writes leave the rest here). */
export const TX_CAPACITY: i32 = FIRMWARE_ONLY ? 1536 : 4096;
// @ts-ignore: decorator
@lazy export const TX: usize = memory.data(TX_CAPACITY, 16);

/** State of the Writer that builds outgoing stanzas (xmpp/output.ts). */
// @ts-ignore: decorator
@lazy export const OUTPUT_WRITER: usize = memory.data(WRITER_STATE_SIZE, 16);

/** Stanzas the rabbit sends on its own (button, ears) held until the state machine is free (spec §9). */
export const OUTBOX_CAPACITY: i32 = FIRMWARE_ONLY ? 512 : 2048;
// @ts-ignore: decorator
@lazy export const OUTBOX: usize = memory.data(OUTBOX_CAPACITY, 16);

/** A violet:packet, decoded from base64 (device: 1,365 base64 characters; an ambient packet is a few dozen). */
export const PACKET_CAPACITY: i32 = FIRMWARE_ONLY ? 1024 : 8192;
// @ts-ignore: decorator
@lazy export const PACKET: usize = memory.data(PACKET_CAPACITY, 16);

/**
 * Working space of one computation at a time (the SASL exchange: DIGEST-MD5 builds its response in the first half and
 * decodes the challenge into the second; a response with the longest nonce, realm and domain takes 560 bytes).
 */
export const SCRATCH_CAPACITY: i32 = FIRMWARE_ONLY ? 1280 : 4096;
// @ts-ignore: decorator
@lazy export const SCRATCH: usize = memory.data(SCRATCH_CAPACITY, 16);

/**
 * An element's text gathered from several text nodes (stanza-query.ts): apart from SCRATCH, where the SASL code
 * decodes what it reads from here (a challenge in pieces longer than half of SCRATCH overwrote itself: fuzz/regressions).
 */
export const TEXT_GATHER_CAPACITY: i32 = 4096;
// @ts-ignore: decorator
@lazy export const TEXT_GATHER: usize = memory.data(TEXT_GATHER_CAPACITY, 16);

/** A URL being built for an HTTP request (locate.jsp, sendMailXMPP.jsp). */
export const URL_CAPACITY: i32 = FIRMWARE_ONLY ? 384 : 512;
// @ts-ignore: decorator
@lazy export const URL_BUFFER: usize = memory.data(URL_CAPACITY, 16);
// @ts-ignore: decorator
@lazy export const URL_WRITER: usize = memory.data(WRITER_STATE_SIZE, 16);

/** The input queue: tree slots of received stanzas, in order, that no state has taken yet (spec §4.1). */
// @ts-ignore: decorator
@lazy export const INPUT_QUEUE: usize = memory.data(TREE_SLOTS * 4, 16);

/** SRV answers still to try: per entry the port (i32), its RFC 2782 rank (i32) and the target (a field, below). */
export const SRV_MAX: i32 = FIRMWARE_ONLY ? 4 : 8;
export const SRV_TARGET_CAPACITY: i32 = 128;
export const SRV_RECORD_SIZE: i32 = 4 + 4 + 8 + SRV_TARGET_CAPACITY;
// @ts-ignore: decorator
@lazy export const SRV_TABLE: usize = memory.data(SRV_MAX * SRV_RECORD_SIZE, 16);

// Bounded strings (util/field.ts: i32 length, i32 capacity, then the bytes). Capacities are set at start.
export const SERVER_URL_CAPACITY: i32 = FLASH_SERVER_URL_SIZE; // flash bytes 0..39
// @ts-ignore: decorator
@lazy export const SERVER_URL: usize = memory.data(8 + SERVER_URL_CAPACITY, 8);
// @ts-ignore: decorator
@lazy export const MAC_HEX: usize = memory.data(8 + 12, 8); //      "f81edfee27c1"
// @ts-ignore: decorator
@lazy export const MAC_COLONS: usize = memory.data(8 + 17, 8); //   "f8:1e:df:ee:27:c1"
export const HOST_CAPACITY: i32 = 128;
// @ts-ignore: decorator
@lazy export const DOMAIN: usize = memory.data(8 + HOST_CAPACITY, 8); //      xmpp_domain (without a ":port")
// @ts-ignore: decorator
@lazy export const PING_SERVER: usize = memory.data(8 + HOST_CAPACITY, 8); // "ping" of locate.jsp
// @ts-ignore: decorator
@lazy export const BROADCAST: usize = memory.data(8 + HOST_CAPACITY, 8); //   "broad" of locate.jsp
// @ts-ignore: decorator
@lazy export const CONNECT_HOST: usize = memory.data(8 + HOST_CAPACITY, 8); // the address being connected to
// @ts-ignore: decorator
@lazy export const PASSWORD: usize = memory.data(8 + 16, 8); //      12 hex digits: what the flash holds
/** A registration's new password, until its result: only then is it PASSWORD (and in flash). */
// @ts-ignore: decorator
@lazy export const PASSWORD_PENDING: usize = memory.data(8 + 16, 8);
export const JID_CAPACITY: i32 = 192;
// @ts-ignore: decorator
@lazy export const JID: usize = memory.data(8 + JID_CAPACITY, 8); //  full JID from bind
export const RESOURCE_CAPACITY: i32 = 32;
// @ts-ignore: decorator
@lazy export const RESOURCE_BOUND: usize = memory.data(8 + RESOURCE_CAPACITY, 8);
// @ts-ignore: decorator
@lazy export const RESOURCE_WANTED: usize = memory.data(8 + RESOURCE_CAPACITY, 8);
// @ts-ignore: decorator
@lazy export const RESOURCE_PREVIOUS: usize = memory.data(8 + RESOURCE_CAPACITY, 8);
export const SASL_VALUE_CAPACITY: i32 = 128;
// @ts-ignore: decorator
@lazy export const SASL_NONCE: usize = memory.data(8 + SASL_VALUE_CAPACITY, 8);
// @ts-ignore: decorator
@lazy export const SASL_REALM: usize = memory.data(8 + SASL_VALUE_CAPACITY, 8);
// @ts-ignore: decorator
@lazy export const SASL_QOP: usize = memory.data(8 + 64, 8);
// @ts-ignore: decorator
@lazy export const SASL_CHARSET: usize = memory.data(8 + 32, 8);
// @ts-ignore: decorator
@lazy export const SASL_ALGORITHM: usize = memory.data(8 + 32, 8);
// @ts-ignore: decorator
@lazy export const SASL_CNONCE: usize = memory.data(8 + 40, 8);
/** The rspauth the server must send (hex), computed with the response. */
// @ts-ignore: decorator
@lazy export const SASL_RSPAUTH: usize = memory.data(8 + 32, 8);
/** Platform addresses set by violet:iq:addresses (int, asr, ppt, rfid, itmode, sources). */
export const ADDRESS_COUNT: i32 = 6;
export const ADDRESS_CAPACITY: i32 = FIRMWARE_ONLY ? 64 : 128;
// @ts-ignore: decorator
@lazy export const ADDRESSES: usize = memory.data(ADDRESS_COUNT * (8 + ADDRESS_CAPACITY), 8);

// SASL (xmpp/sasl.ts): digests as hex and raw, the received rspauth.
// @ts-ignore: decorator
@lazy export const SASL_HA1: usize = memory.data(32, 8);
// @ts-ignore: decorator
@lazy export const SASL_HA2: usize = memory.data(32, 8);
// @ts-ignore: decorator
@lazy export const SASL_DIGEST: usize = memory.data(16, 8);
// @ts-ignore: decorator
@lazy export const SASL_HEX: usize = memory.data(32, 8);
export const SASL_RECEIVED_RSPAUTH_CAPACITY: i32 = 40;
// @ts-ignore: decorator
@lazy export const SASL_RECEIVED_RSPAUTH: usize = memory.data(SASL_RECEIVED_RSPAUTH_CAPACITY, 8);
// @ts-ignore: decorator
@lazy export const SASL_PLAIN_WRITER: usize = memory.data(WRITER_STATE_SIZE, 8);

// SCRAM-SHA-1 (xmpp/sasl-scram.ts). The AuthMessage (client-first-bare "," server-first "," client-final-without-proof)
// bounds the server-first message; the decoded salt is bounded apart.
export const SCRAM_NONCE_RANDOM_BYTES: i32 = 18; //  the client nonce: base64 of 18 random bytes, 24 characters
// @ts-ignore: decorator
@lazy export const SCRAM_NONCE: usize = memory.data(8 + 32, 8);
export const SCRAM_AUTH_MESSAGE_CAPACITY: i32 = 1024;
// @ts-ignore: decorator
@lazy export const SCRAM_AUTH_MESSAGE: usize = memory.data(SCRAM_AUTH_MESSAGE_CAPACITY, 8);
/** Client messages before base64 (client-first, client-final). */
export const SCRAM_MESSAGE_CAPACITY: i32 = 1024;
// @ts-ignore: decorator
@lazy export const SCRAM_MESSAGE: usize = memory.data(SCRAM_MESSAGE_CAPACITY, 8);
export const SCRAM_SALT_CAPACITY: i32 = 128;
// @ts-ignore: decorator
@lazy export const SCRAM_SALT: usize = memory.data(SCRAM_SALT_CAPACITY, 8);
/** The most PBKDF2 iterations a server may ask for (ejabberd uses 4096, Prosody 10000; each costs two compressions). */
export const SCRAM_ITERATIONS_MAX: i32 = 100000;
/** SaltedPassword, ClientKey, StoredKey, ClientSignature / ClientProof, ServerKey, ServerSignature; 20 bytes each. */
// @ts-ignore: decorator
@lazy export const SCRAM_KEYS: usize = memory.data(6 * 20, 8);
/** The server's signature as received, and short literals ("Client Key") on their way into HMAC. */
// @ts-ignore: decorator
@lazy export const SCRAM_RECEIVED: usize = memory.data(32, 8);
// @ts-ignore: decorator
@lazy export const SCRAM_LITERAL: usize = memory.data(16, 8);
// @ts-ignore: decorator
@lazy export const SCRAM_WRITER: usize = memory.data(WRITER_STATE_SIZE, 8);

/** A Writer's state for the test points (index.ts). */
// @ts-ignore: decorator
@lazy export const TEST_WRITER: usize = memory.data(WRITER_STATE_SIZE, 8);
