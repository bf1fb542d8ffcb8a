// What the rabbit's bytecode VM supplied, now supplied by the host: the module's imports (module "vm"). Every call
// returns at once; results that take time (a connection, an HTTP answer, a DNS answer) come back later through the
// module's exports (index.ts). No import ever calls back into the module. docs/ABI.md documents each one.

/** tcp_event's `event` (docs/ABI.md): the connection is writable (the first time: connected), data came, it closed. */
export const TCP_EVENT_WRITABLE: i32 = 0;
export const TCP_EVENT_DATA: i32 = 1;
export const TCP_EVENT_CLOSED: i32 = -1;
/** dns_query's `type`: the DNS record types the rabbit asks for. */
export const DNS_TYPE_A: i32 = 1;
export const DNS_TYPE_SRV: i32 = 33;

/** Writes raw bytes to the debug UART (a line ends with "\n"). */
// @ts-ignore: decorator
@external("vm", "uart_write")
export declare function uart_write(pointer: usize, length: i32): void;

/** Milliseconds since boot (31 bits). The seconds clock is derived from it, so both share one source. */
// @ts-ignore: decorator
@external("vm", "time_ms")
export declare function time_ms(): i32;

/** The VM's generator (spec §2.1): r = r * 0x1234567 + 11 (mod 2^32); returns (r >> 8) & 0xFFFF. */
// @ts-ignore: decorator
@external("vm", "rand")
export declare function rand(): i32;

/** Sets the VM generator's state. */
// @ts-ignore: decorator
@external("vm", "srand")
export declare function srand(seed: i32): void;

/** Fills [pointer, pointer + length) with bytes from a cryptographically secure source (standard profile). */
// @ts-ignore: decorator
@external("vm", "random_bytes")
export declare function random_bytes(pointer: usize, length: i32): void;

/** Writes the rabbit's 6-byte MAC address at `pointer`. */
// @ts-ignore: decorator
@external("vm", "mac_address")
export declare function mac_address(pointer: usize): void;

/** Copies `length` bytes of the 4 KB flash sector from `offset` (clamped to the sector) to `pointer`. */
// @ts-ignore: decorator
@external("vm", "flash_read")
export declare function flash_read(offset: i32, pointer: usize, length: i32): void;

/** Writes bytes into the flash sector at `offset`; the host rewrites the whole sector atomically. */
// @ts-ignore: decorator
@external("vm", "flash_write")
export declare function flash_write(offset: i32, pointer: usize, length: i32): void;

/** Opens a TCP connection to a dotted IPv4 address; returns a handle (>= 0) at once. Events arrive via tcp_event. */
// @ts-ignore: decorator
@external("vm", "tcp_open")
export declare function tcp_open(address: usize, addressLength: i32, port: i32): i32;

/**
 * Offers bytes [start, length) of the buffer to the connection; returns the index of the next byte not taken (partial
 * writes are normal: the rest is offered again on the next writable event), or -1 if the connection is not
 * established.
 */
// @ts-ignore: decorator
@external("vm", "tcp_send")
export declare function tcp_send(handle: i32, pointer: usize, length: i32, start: i32): i32;

/** Closes a connection. No event follows for it. */
// @ts-ignore: decorator
@external("vm", "tcp_close")
export declare function tcp_close(handle: i32): void;

/**
 * Starts an HTTP GET of `url` ("host[:port]/path", scheme optional); returns a request id. With `wantBody` = 1 the
 * answer comes back through http_done; with 0 it is fire-and-forget.
 */
// @ts-ignore: decorator
@external("vm", "http_get")
export declare function http_get(url: usize, urlLength: i32, wantBody: i32): i32;

/** Starts a DNS query (type 1 = A, 33 = SRV) for a name; returns a request id. The answer comes through dns_done. */
// @ts-ignore: decorator
@external("vm", "dns_query")
export declare function dns_query(type: i32, name: usize, nameLength: i32): i32;

/** Sets LED `index` (0..4: nose, left, middle, right, base) to 0xRRGGBB. */
// @ts-ignore: decorator
@external("vm", "led_set")
export declare function led_set(index: i32, rgb: i32): void;

/** Reboots: the host drops this instance and boots a fresh one (RAM lost, flash kept, clocks from 0). */
// @ts-ignore: decorator
@external("vm", "reboot")
export declare function reboot(): void;

/** Tells the host something it may show or act on (kinds in rabbit/report.ts), with a payload. */
// @ts-ignore: decorator
@external("vm", "report")
export declare function report(kind: i32, pointer: usize, length: i32): void;
