// Boot (spec §3): the rabbit's identity (MAC address), its configuration in flash (server URL, password), and
// locate.jsp, which names the platform's hosts and the XMPP domain.

import {
  BROADCAST,
  DOMAIN,
  HOST_CAPACITY,
  MAC_COLONS,
  MAC_HEX,
  PASSWORD,
  PING_SERVER,
  SCRATCH,
  SERVER_URL,
  SERVER_URL_CAPACITY,
  URL_BUFFER,
  URL_CAPACITY,
  URL_WRITER,
} from "../memory-map";
import { Ascii, bytesEqualAscii, hexDigit, indexOfByte } from "../util/bytes";
import { fieldData, fieldLength, fieldSet } from "../util/field";
import { staticWriter, Writer } from "../util/writer";
import { flash_read, http_get, mac_address } from "../vm/host";
import { uartBegin, uartEnd } from "../vm/uart";
import { FLASH_PASSWORD_FLAG, FLASH_PASSWORD_FLAG_OFFSET, FLASH_SERVER_URL_OFFSET, FLASH_SERVER_URL_SIZE, PASSWORD_LENGTH } from "../flash-map";
import { logField } from "./report";
import { setDomainPort } from "./state";

/** The MAC address in its two text forms: "f81edfee27c1" (MAC) and "f8:1e:df:ee:27:c1" (MACC, spec §0). */
export function readMac(): void {
  mac_address(SCRATCH);
  for (let i = 0; i < 6; i++) {
    const b = <i32>load<u8>(SCRATCH + i);
    store<u8>(fieldData(MAC_HEX) + 2 * i, <u8>hexDigit(b >> 4));
    store<u8>(fieldData(MAC_HEX) + 2 * i + 1, <u8>hexDigit(b & 15));
    store<u8>(fieldData(MAC_COLONS) + 3 * i, <u8>hexDigit(b >> 4));
    store<u8>(fieldData(MAC_COLONS) + 3 * i + 1, <u8>hexDigit(b & 15));
    if (i < 5) store<u8>(fieldData(MAC_COLONS) + 3 * i + 2, 0x3a);
  }
  store<i32>(MAC_HEX, 12);
  store<i32>(MAC_COLONS, 17);
}

/** The server URL: flash bytes 0..39, up to the first NUL or erased byte. */
export function readServerUrl(): void {
  flash_read(FLASH_SERVER_URL_OFFSET, SCRATCH, FLASH_SERVER_URL_SIZE);
  let length = 0;
  while (length < SERVER_URL_CAPACITY) {
    const b = <i32>load<u8>(SCRATCH + length);
    if (b == 0 || b == 0xff) break;
    length++;
  }
  fieldSet(SERVER_URL, SCRATCH, length);
}

/** The password from flash (spec §2.2): 'd' at 208, then 12 characters; none otherwise. */
export function readPassword(): void {
  flash_read(FLASH_PASSWORD_FLAG_OFFSET, SCRATCH, 1 + PASSWORD_LENGTH);
  if (<i32>load<u8>(SCRATCH) == FLASH_PASSWORD_FLAG) fieldSet(PASSWORD, SCRATCH + 1, PASSWORD_LENGTH);
  else store<i32>(PASSWORD, 0);
}

function urlWriter(): Writer {
  return staticWriter(URL_WRITER, URL_BUFFER, URL_CAPACITY);
}

/** Sends an HTTP GET built in URL_BUFFER, logged as the captures show it ("HTTPREQUEST url=..."). */
function httpGet(url: Writer, wantBody: bool): i32 {
  if (url.overflowed) return -1;
  const line = uartBegin();
  line.ascii("HTTPREQUEST url=");
  line.bytes(URL_BUFFER, url.length);
  uartEnd();
  return http_get(URL_BUFFER, url.length, wantBody ? 1 : 0);
}

/** GET SERVERURL/locate.jsp?sn=MAC&h=4&v=18673 (with the body). */
export function requestLocate(): i32 {
  const url = urlWriter();
  url.bytes(fieldData(SERVER_URL), fieldLength(SERVER_URL));
  url.ascii("/locate.jsp?sn=");
  url.bytes(fieldData(MAC_HEX), 12);
  url.ascii("&h=4&v=18673");
  return httpGet(url, true);
}

/** GET PINGSRV/vl/sendMailXMPP.jsp?m=MAC&d=DOMAIN&r=REASON&v=18673, fire and forget (spec §6.4). */
export function reportFailure(reason: Ascii): void {
  const url = urlWriter();
  url.bytes(fieldData(PING_SERVER), fieldLength(PING_SERVER));
  url.ascii("/vl/sendMailXMPP.jsp?m=");
  url.bytes(fieldData(MAC_HEX), 12);
  url.ascii("&d=");
  url.bytes(fieldData(DOMAIN), fieldLength(DOMAIN));
  url.ascii("&r=");
  url.ascii(reason);
  url.ascii("&v=18673");
  httpGet(url, false);
}

/**
 * The locate.jsp body: lines (CR dropped) of "key value", split at the first space; "ping", "broad" and
 * "xmpp_domain" are used. A domain "host:port" (OpenJabNab) names the port to connect to. Returns whether a domain
 * came.
 */
export function parseLocate(body: usize, length: i32): bool {
  let hasDomain = false;
  let start = 0;
  // Each pass takes one line.
  while (start < length) {
    let end = indexOfByte(body, length, 0x0a, start);
    if (end < 0) end = length;
    let lineEnd = end;
    while (lineEnd > start && load<u8>(body + lineEnd - 1) == 0x0d) lineEnd--;
    const space = indexOfByte(body, lineEnd, 0x20, start);
    if (space > start) {
      const key = body + <usize>start;
      const keyLength = space - start;
      const value = body + <usize>(space + 1);
      const valueLength = lineEnd - space - 1;
      if (bytesEqualAscii(key, keyLength, "ping")) {
        if (!fieldSet(PING_SERVER, value, valueLength)) logField("locate.jsp: value too long for ", PING_SERVER);
      } else if (bytesEqualAscii(key, keyLength, "broad")) {
        fieldSet(BROADCAST, value, valueLength);
      } else if (bytesEqualAscii(key, keyLength, "xmpp_domain") && valueLength > 0 && valueLength <= HOST_CAPACITY) {
        hasDomain = setDomain(value, valueLength);
      }
    }
    start = end + 1;
  }
  return hasDomain;
}

/** The domain, or "host:port": the part before the last ':' is the domain, the number after it the port. */
function setDomain(value: usize, length: i32): bool {
  let colon = -1;
  for (let i = length - 1; i >= 0; i--) {
    if (load<u8>(value + i) == 0x3a) {
      colon = i;
      break;
    }
  }
  let port = 0;
  if (colon > 0 && colon < length - 1) {
    for (let i = colon + 1; i < length; i++) {
      const c = <i32>load<u8>(value + i);
      if (c < 0x30 || c > 0x39 || port > 65535) {
        port = -1;
        break;
      }
      port = port * 10 + c - 0x30;
    }
  }
  if (port > 0 && port <= 65535) {
    setDomainPort(port);
    return fieldSet(DOMAIN, value, colon);
  }
  setDomainPort(0);
  return fieldSet(DOMAIN, value, length);
}
