// The transport under the XMPP stream (spec §4): which address to connect to (SRV answers, then the domain itself on
// 5222), the TCP handle, and pushing TX out through partial writes. It decides nothing about the session: the
// client (client.ts) calls it and acts on what it returns.

import { CONNECT_HOST, DOMAIN, IO_IN, SRV_MAX, SRV_RECORD_SIZE, SRV_TABLE, SRV_TARGET_CAPACITY, TX } from "../memory-map";
import { quirk, QUIRK_READ_TIMEOUT_WRITES, QUIRK_SRV_ORDER } from "../quirks";
import { log, logField } from "../rabbit/report";
import {
  connected,
  domainPort,
  setConnected,
  setConnectPort,
  setDnsRequest,
  setSocket,
  setSrvQueried,
  setStalledSends,
  socket,
  srvQueried,
  stalledSends,
  touchIo,
  connectPort,
} from "../rabbit/state";
import { fieldData, fieldInit, fieldLength, fieldSet, fieldSetAscii } from "../util/field";
import { DNS_TYPE_A, DNS_TYPE_SRV, dns_query, tcp_close, tcp_open, tcp_send } from "../vm/host";
import { txConsumed, txLength } from "./output";


/** connectNext / onDnsAnswer results. */
export const CONNECT_OPENED: i32 = 1; //   a socket is opening: wait for its events
export const CONNECT_WAITING: i32 = 2; //  a DNS query is out: wait for dns_done
export const CONNECT_FAILED: i32 = -1; //  no address could be found

/** flush results. */
export const FLUSH_OK: i32 = 0;
export const FLUSH_CLOSED: i32 = -1; //    the connection refused the bytes: not established (spec: send = nil)
export const FLUSH_DROPPED: i32 = -2; //   ten sends without progress: the pending data was dropped

let srvCount = 0;

// @ts-ignore: decorator
@inline function srvRecord(index: i32): usize {
  return SRV_TABLE + <usize>index * <usize>SRV_RECORD_SIZE;
}

/** A new session: the SRV answers are asked for again at the first connect. */
export function addressesReset(): void {
  srvCount = 0;
  setSrvQueried(false);
}

/**
 * Starts the next connection attempt (spec §4): the first asks DNS for SRV answers; each attempt consumes one answer
 * (an IP literal target is used directly, a name is A-resolved); with none left, the domain itself on port 5222. An
 * OpenJabNab "host:port" domain is connected to directly.
 */
export function connectNext(): i32 {
  if (domainPort > 0) {
    fieldSet(CONNECT_HOST, fieldData(DOMAIN), fieldLength(DOMAIN));
    setConnectPort(domainPort);
    return resolveAndOpen();
  }
  if (!srvQueried) {
    setSrvQueried(true);
    // "_xmpp-client._tcp." + domain, built in CONNECT_HOST.
    fieldSetAscii(CONNECT_HOST, "_xmpp-client._tcp.");
    const prefix = fieldLength(CONNECT_HOST);
    if (prefix + fieldLength(DOMAIN) > SRV_TARGET_CAPACITY) return CONNECT_FAILED;
    memory.copy(fieldData(CONNECT_HOST) + <usize>prefix, fieldData(DOMAIN), <usize>fieldLength(DOMAIN));
    store<i32>(CONNECT_HOST, prefix + fieldLength(DOMAIN));
    setDnsRequest(dns_query(DNS_TYPE_SRV, fieldData(CONNECT_HOST), fieldLength(CONNECT_HOST)), true);
    return CONNECT_WAITING;
  }
  if (srvCount > 0) {
    const record = srvRecord(0);
    setConnectPort(load<i32>(record));
    fieldSet(CONNECT_HOST, fieldData(record + SRV_TARGET_OFFSET), fieldLength(record + SRV_TARGET_OFFSET));
    memory.copy(srvRecord(0), srvRecord(1), <usize>((srvCount - 1) * SRV_RECORD_SIZE));
    srvCount--;
    return resolveAndOpen();
  }
  logField("No more SRV answears. let's try to connect directly to ", DOMAIN);
  fieldSet(CONNECT_HOST, fieldData(DOMAIN), fieldLength(DOMAIN));
  setConnectPort(5222);
  return resolveAndOpen();
}

/** Connects to CONNECT_HOST:connectPort, asking DNS for its address first unless it is an IPv4 literal. */
function resolveAndOpen(): i32 {
  if (isIpv4(fieldData(CONNECT_HOST), fieldLength(CONNECT_HOST))) {
    open(fieldData(CONNECT_HOST), fieldLength(CONNECT_HOST));
    return CONNECT_OPENED;
  }
  setDnsRequest(dns_query(DNS_TYPE_A, fieldData(CONNECT_HOST), fieldLength(CONNECT_HOST)), false);
  return CONNECT_WAITING;
}

/**
 * A DNS answer (records in IO_IN, `count` < 0 for no answer). SRV: each record is port, priority, weight (u16 each),
 * target length (u8) and target. A: the dotted address.
 */
export function onDnsAnswer(forSrv: bool, count: i32, length: i32): i32 {
  setDnsRequest(-1, false);
  if (forSrv) {
    let at = 0;
    for (let i = 0; i < count; i++) {
      if (at + 7 > length) break;
      const port = <i32>load<u16>(IO_IN + at);
      const priority = <i32>load<u16>(IO_IN + at, 2);
      const weight = <i32>load<u16>(IO_IN + at, 4);
      const targetLength = <i32>load<u8>(IO_IN + at, 6);
      if (at + 7 + targetLength > length) break;
      addSrv(port, priority, weight, IO_IN + at + 7, targetLength);
      at += 7 + targetLength;
    }
    return connectNext();
  }
  if (count < 1 || length <= 0 || !isIpv4(IO_IN, length)) {
    logField("DNS: no address for ", CONNECT_HOST);
    return CONNECT_FAILED;
  }
  open(IO_IN, length);
  return CONNECT_OPENED;
}

// An SRV record: port, rank (priority << 16 | 0xffff - weight: lower goes first), target field.
const SRV_TARGET_OFFSET: usize = 8;

/**
 * Adds an SRV answer. The firmware prepends every answer (tried last received first, priority and weight ignored:
 * quirk srv-order); otherwise answers go in RFC 2782 order (lowest priority first, then highest weight). A target
 * "." means no service and is skipped.
 */
function addSrv(port: i32, priority: i32, weight: i32, target: usize, targetLength: i32): void {
  if (targetLength > 0 && load<u8>(target + targetLength - 1) == 0x2e) targetLength--;
  if (targetLength == 0 || targetLength > SRV_TARGET_CAPACITY || srvCount >= SRV_MAX) return;
  const rank = (priority << 16) | (0xffff - weight);
  let at = 0;
  if (!quirk(QUIRK_SRV_ORDER)) {
    while (at < srvCount && load<i32>(srvRecord(at), 4) <= rank) at++;
  }
  memory.copy(srvRecord(at + 1), srvRecord(at), <usize>((srvCount - at) * SRV_RECORD_SIZE));
  const record = srvRecord(at);
  store<i32>(record, port);
  store<i32>(record, rank, 4);
  fieldInit(record + SRV_TARGET_OFFSET, SRV_TARGET_CAPACITY);
  fieldSet(record + SRV_TARGET_OFFSET, target, targetLength);
  srvCount++;
}

/** Dotted-quad IPv4 literal. */
function isIpv4(pointer: usize, length: i32): bool {
  let dots = 0;
  let digits = 0;
  for (let i = 0; i < length; i++) {
    const c = <i32>load<u8>(pointer + i);
    if (c == 0x2e) {
      if (digits == 0) return false;
      dots++;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39 && digits < 3) {
      digits++;
    } else {
      return false;
    }
  }
  return dots == 3 && digits > 0;
}

function open(address: usize, length: i32): void {
  closeSocket();
  setSocket(tcp_open(address, length, connectPort));
  setConnected(false);
  setStalledSends(0);
  // The connect timeout counts from here (spec §4).
  touchIo(false);
}

export function closeSocket(): void {
  if (socket >= 0) tcp_close(socket);
  setSocket(-1);
  setConnected(false);
}

/** Offers TX to the connection (spec §4: partial writes; ten sends without progress drop the pending data). */
export function flush(): i32 {
  if (txLength == 0 || socket < 0 || !connected) return FLUSH_OK;
  const next = tcp_send(socket, TX, txLength, 0);
  if (next < 0) return FLUSH_CLOSED;
  if (next > 0) {
    txConsumed(next);
    setStalledSends(0);
    // A write refreshes the I/O clock; with read-timeout-writes also the read clock (spec §10).
    touchIo(quirk(QUIRK_READ_TIMEOUT_WRITES));
    return FLUSH_OK;
  }
  setStalledSends(stalledSends + 1);
  if (stalledSends >= 10) {
    txConsumed(txLength);
    setStalledSends(0);
    log("send: ten tries without progress, pending data dropped");
    return FLUSH_DROPPED;
  }
  return FLUSH_OK;
}

