// In-band registration (XEP-0077 as the seed's build did it; spec §6). Step 1 asks for the form (which is never
// read); at its result the password is generated; step 2 sends it. The firmware registers the password XORed with
// the MAC but logs in with the raw one (register-xor): a server that stores what it received never accepts that login.

import { DOMAIN, JID, MAC_COLONS, MAC_HEX, PASSWORD, SCRATCH } from "../memory-map";
import { md5 } from "../crypto/md5";
import { quirk, QUIRK_BIND_FROM, QUIRK_MD5_LENGTH, QUIRK_PASSWORD_SEED, QUIRK_REGISTER_XOR } from "../quirks";
import { nextId } from "../rabbit/state";
import { hexDigit, hexValue, writeHex } from "../util/bytes";
import { fieldData, fieldLength, fieldSet } from "../util/field";
import { flash_write, rand, random_bytes, srand, time_ms } from "../vm/host";
import { begin, end, escapedField } from "./output";

/** Flash layout (spec §2.2): 'd' at 208 marks a password in 209..220. */
export const FLASH_PASSWORD_FLAG_OFFSET: i32 = 208;
export const FLASH_PASSWORD_FLAG: i32 = 0x64;
export const PASSWORD_LENGTH: i32 = 12;

/** Step 1: <iq type='get' id='N'><query xmlns='jabber:iq:register'/></iq> (with from='JID' if this boot bound one). */
export function sendRegisterGet(): bool {
  const writer = begin();
  writer.ascii("<iq ");
  if (quirk(QUIRK_BIND_FROM) && fieldLength(JID) > 0) {
    writer.ascii("from='");
    escapedField(writer, JID);
    writer.ascii("' ");
  }
  writer.ascii("type='get' id='");
  writer.decimal(nextId());
  writer.ascii("'><query xmlns='jabber:iq:register'/></iq>");
  return end();
}

/**
 * The password (spec §6.3): with password-seed, srand(t) then one draw k, and the 12 hex digits after the first of
 * MD5(decimal(k) MACC decimal(t)), t = time_ms; otherwise 12 hex digits from the host's secure source.
 */
export function generatePassword(): void {
  const password = fieldData(PASSWORD);
  if (quirk(QUIRK_PASSWORD_SEED)) {
    const t = time_ms();
    srand(t);
    const k = rand();
    let length = writeDecimal(SCRATCH, <u32>k);
    memory.copy(SCRATCH + <usize>length, fieldData(MAC_COLONS), <usize>fieldLength(MAC_COLONS));
    length += fieldLength(MAC_COLONS);
    length += writeDecimal(SCRATCH + <usize>length, <u32>t);
    md5(SCRATCH, length, SCRATCH + 64, quirk(QUIRK_MD5_LENGTH));
    writeHex(SCRATCH + 64, 16, SCRATCH + 96);
    memory.copy(password, SCRATCH + 97, PASSWORD_LENGTH);
  } else {
    random_bytes(SCRATCH, 6);
    writeHex(SCRATCH, 6, password);
  }
  store<i32>(PASSWORD, PASSWORD_LENGTH);
}

function writeDecimal(out: usize, value: u32): i32 {
  let divisor: u32 = 1;
  while (value / divisor >= 10) divisor *= 10;
  let length = 0;
  while (divisor > 0) {
    store<u8>(out + length, <u8>(0x30 + (value / divisor) % 10));
    length++;
    divisor /= 10;
  }
  return length;
}

/** Step 2 (spec §6.2, compact wire form of the seed build). */
export function sendRegisterSet(): bool {
  const writer = begin();
  writer.ascii("<iq to='");
  escapedField(writer, DOMAIN);
  writer.ascii("' type='set' id='");
  writer.decimal(nextId());
  writer.ascii("'><query xmlns=\"jabber:iq:register\"><username>");
  escapedField(writer, MAC_HEX);
  writer.ascii("</username><password>");
  if (quirk(QUIRK_REGISTER_XOR)) {
    // hex-XOR(password, MAC), digit by digit.
    for (let i = 0; i < PASSWORD_LENGTH; i++) {
      const a = hexValue(<i32>load<u8>(fieldData(PASSWORD) + i));
      const b = hexValue(<i32>load<u8>(fieldData(MAC_HEX) + i));
      writer.byte(hexDigit((a ^ b) & 15));
    }
  } else {
    escapedField(writer, PASSWORD);
  }
  writer.ascii("</password><name>");
  escapedField(writer, MAC_HEX);
  writer.ascii("</name><email>");
  escapedField(writer, MAC_HEX);
  writer.ascii("@bunny.lab</email></query></iq>");
  return end();
}

/** After a successful registration: 'd' and the password at 208 (one sector rewrite). */
export function storePassword(): void {
  store<u8>(SCRATCH, <u8>FLASH_PASSWORD_FLAG);
  memory.copy(SCRATCH + 1, fieldData(PASSWORD), PASSWORD_LENGTH);
  flash_write(FLASH_PASSWORD_FLAG_OFFSET, SCRATCH, 1 + PASSWORD_LENGTH);
}

/** Sets the password (tests and the flash reader). */
export function setPassword(pointer: usize, length: i32): bool {
  return fieldSet(PASSWORD, pointer, length);
}
