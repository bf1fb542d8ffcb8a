// The rabbit's RAM: what the firmware kept in its globals. Lost on reboot (a fresh instance), unlike the flash.
// The modules of rabbit/, xmpp/ and packet/ read and write it; client.ts decides the transitions.

import {
  ADDRESS_CAPACITY,
  ADDRESS_COUNT,
  ADDRESSES,
  BROADCAST,
  CONNECT_HOST,
  DOMAIN,
  HOST_CAPACITY,
  JID,
  JID_CAPACITY,
  MAC_COLONS,
  MAC_HEX,
  PASSWORD,
  PING_SERVER,
  RESOURCE_BOUND,
  RESOURCE_CAPACITY,
  RESOURCE_PREVIOUS,
  RESOURCE_WANTED,
  SASL_ALGORITHM,
  SASL_CHARSET,
  SASL_CNONCE,
  SASL_NONCE,
  SASL_QOP,
  SASL_REALM,
  SASL_RSPAUTH,
  SASL_VALUE_CAPACITY,
  SERVER_URL,
  SERVER_URL_CAPACITY,
} from "../memory-map";
import { Ascii } from "../util/bytes";
import { fieldInit } from "../util/field";
import { time_ms } from "../vm/host";

// Status (spec glossary): where the session is.
export const STATUS_BOOTING: i32 = 0; //     before locate.jsp answered with an xmpp_domain
export const STATUS_OPENING: i32 = 1; //     connecting, stream, registration
export const STATUS_LOGGING: i32 = 2; //     SASL under way (12 s watchdog)
export const STATUS_LOGGED_IN: i32 = 3; //   SASL done, binding (12 s watchdog)
export const STATUS_OPENED: i32 = 4; //      session open
export const STATUS_CLOSED: i32 = 5; //      disconnected, waiting to reconnect
export const STATUS_REGISTRATION_ERROR: i32 = 6; // terminal until reboot: red LEDs

// State (spec glossary): which stanza the state machine waits for.
export const STATE_LOGGING: i32 = 0;
export const STATE_REGISTER1: i32 = 1;
export const STATE_REGISTER2: i32 = 2;
export const STATE_BIND: i32 = 3;
export const STATE_START_SESSION: i32 = 4;
export const STATE_GET_SOURCE: i32 = 5;
export const STATE_PRESENCE: i32 = 6;
export const STATE_UNBIND: i32 = 7;
export const STATE_FREE: i32 = 8;

/** The names the rabbit reports (vm.report) and the host shows, by number. */
export const STATUS_NAMES: StaticArray<Ascii> = ["booting", "opening", "logging", "loggedin", "opened", "closed", "registration-error"];
export const STATE_NAMES: StaticArray<Ascii> = [
  "ssLogging", "ssRegister1", "ssRegister2", "ssBind", "ssStartSession", "ssGetSource", "ssPresence", "ssUnBind", "ssFree",
];

export let status: i32 = STATUS_BOOTING;
export let state: i32 = STATE_LOGGING;
/** The rabbit asked the host to reboot: it does nothing more. */
export let halted: bool = false;

/** RAM flag forcing registration; set by a SASL failure, cleared by post-auth features and reboot (spec §4). */
export let nowRegister: bool = false;
/** The stanza id counter: incremented before use, reset to 0 by every stream opening. */
export let idCounter: i32 = 0;

// Connection
export let socket: i32 = -1;
export let connected: bool = false; //      first writable event seen
export let headerSent: bool = false;
/** Seconds clock at the last read or write, and at the last read (spec §10 timers). */
export let lastIoSeconds: i32 = 0;
export let lastReadSeconds: i32 = 0;
/** time_ms when the login watchdog fires, or -1. */
export let watchdogAt: i32 = -1;
/** time_ms when the rabbit reconnects, or -1. */
export let reconnectAt: i32 = -1;
/** Gate tries left before the firmware would fall back to BOSH (spec §4). */
export let triesLeft: i32 = 3;
/** The state machine runs at most every 100 ms (spec §2). */
export let lastStepMs: i32 = -100000;
/** Sends in a row that moved nothing (spec §4: 10 drop the pending data). */
export let stalledSends: i32 = 0;
/** A DNS request the rabbit waits for (-1: none), and what it was for. */
export let dnsRequest: i32 = -1;
export let dnsForSrv: bool = false;
export let srvQueried: bool = false;
/** Port to connect to with CONNECT_HOST. */
export let connectPort: i32 = 5222;
/** The xmpp_domain came as "host:port" (OpenJabNab): connect there, no SRV lookup. */
export let domainPort: i32 = 0;
/** The session announced by the server: offered, and whether it is optional (RFC 6121 servers). */
export let sessionOffered: bool = false;
export let sessionOptional: bool = false;
/** locate.jsp: request id, time_ms when sent. */
export let locateRequest: i32 = -1;
export let locateSentAt: i32 = 0;
/** time_ms when the current connection was established (its first writable event). */
export let connectedAt: i32 = 0;
/** time_ms when the presence that waits for its echo went out (ssPresence). */
export let presenceSentAt: i32 = 0;

// Setters (AssemblyScript exports `let` globals read-only to other modules).
export function setStatus(value: i32): void { status = value; }
export function setState(value: i32): void { state = value; }
export function setHalted(): void { halted = true; }
export function setNowRegister(value: bool): void { nowRegister = value; }
export function nextId(): i32 { return ++idCounter; }
export function resetIds(): void { idCounter = 0; }
export function setSocket(value: i32): void { socket = value; }
export function setConnected(value: bool): void { connected = value; }
export function setHeaderSent(value: bool): void { headerSent = value; }
export function setWatchdogAt(value: i32): void { watchdogAt = value; }
export function setReconnectAt(value: i32): void { reconnectAt = value; }
export function setTriesLeft(value: i32): void { triesLeft = value; }
export function setLastStepMs(value: i32): void { lastStepMs = value; }
export function setStalledSends(value: i32): void { stalledSends = value; }
export function setDnsRequest(request: i32, forSrv: bool): void { dnsRequest = request; dnsForSrv = forSrv; }
export function setSrvQueried(value: bool): void { srvQueried = value; }
export function setConnectPort(value: i32): void { connectPort = value; }
export function setDomainPort(value: i32): void { domainPort = value; }
export function setSessionOffer(offered: bool, optional: bool): void { sessionOffered = offered; sessionOptional = optional; }
export function setLocate(request: i32, at: i32): void { locateRequest = request; locateSentAt = at; }
export function setPresenceSentAt(value: i32): void { presenceSentAt = value; }
export function setConnectedAt(value: i32): void { connectedAt = value; }

/** The clocks: one monotonic source (spec §2). */
export function nowMs(): i32 {
  return time_ms();
}

export function nowSeconds(): i32 {
  return time_ms() / 1000;
}

/** A read or a write happened now. */
export function touchIo(read: bool): void {
  const seconds = nowSeconds();
  lastIoSeconds = seconds;
  if (read) lastReadSeconds = seconds;
}

/** Gives every field its capacity and empties it (module start). */
export function stateSetup(): void {
  fieldInit(SERVER_URL, SERVER_URL_CAPACITY);
  fieldInit(MAC_HEX, 12);
  fieldInit(MAC_COLONS, 17);
  fieldInit(DOMAIN, HOST_CAPACITY);
  fieldInit(PING_SERVER, HOST_CAPACITY);
  fieldInit(BROADCAST, HOST_CAPACITY);
  fieldInit(CONNECT_HOST, HOST_CAPACITY);
  fieldInit(PASSWORD, 16);
  fieldInit(JID, JID_CAPACITY);
  fieldInit(RESOURCE_BOUND, RESOURCE_CAPACITY);
  fieldInit(RESOURCE_WANTED, RESOURCE_CAPACITY);
  fieldInit(RESOURCE_PREVIOUS, RESOURCE_CAPACITY);
  fieldInit(SASL_NONCE, SASL_VALUE_CAPACITY);
  fieldInit(SASL_REALM, SASL_VALUE_CAPACITY);
  fieldInit(SASL_QOP, 64);
  fieldInit(SASL_CHARSET, 32);
  fieldInit(SASL_ALGORITHM, 32);
  fieldInit(SASL_CNONCE, 40);
  fieldInit(SASL_RSPAUTH, 32);
  for (let i = 0; i < ADDRESS_COUNT; i++) fieldInit(addressField(i), ADDRESS_CAPACITY);
}

/** Platform address `index` (ADDRESS_INT ...). */
export function addressField(index: i32): usize {
  return ADDRESSES + <usize>index * <usize>(8 + ADDRESS_CAPACITY);
}

export const ADDRESS_INT: i32 = 0;
