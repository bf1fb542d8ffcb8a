// In-band registration (spec §6). Step 1 asks for the form (which is never read); at its result the password is
// generated; step 2 sends it. The firmware registers the password XORed with the MAC but logs in with the raw one
// (register-xor): a server that stores what it received never accepts that login.
//
// Three forms of it exist in the wild (spec §1.2, platform.md §2.3), one setting (registerForm):
//   stock   rev 18673 as shipped: violet:iq:register, <username> and <password> (what OpenJabNab accepts);
//   binary  the published compiled 18673: jabber:iq:register, username and password (XEP-0077);
//   seed    the seed log's patched build: jabber:iq:register plus <name> and <email>.

import { DOMAIN, JID, MAC_COLONS, MAC_HEX, PASSWORD, PASSWORD_PENDING, SCRATCH } from "../memory-map";
import { md5 } from "../crypto/md5";
import { FLASH_PASSWORD_FLAG, FLASH_PASSWORD_FLAG_OFFSET, PASSWORD_LENGTH } from "../flash-map";
import { quirk, QUIRK_BIND_FROM, QUIRK_MD5_LENGTH, QUIRK_PASSWORD_SEED, QUIRK_REGISTER_XOR } from "../quirks";
import { nextId } from "../rabbit/state";
import { Ascii, hexDigit, hexValue, writeHex } from "../util/bytes";
import { fieldCopy, fieldData, fieldLength, fieldSet } from "../util/field";
import { flash_write, rand, random_bytes, srand, time_ms } from "../vm/host";
import { begin, end, escapedField } from "./output";


export const REGISTER_FORM_STOCK: i32 = 0;
export const REGISTER_FORM_BINARY: i32 = 1;
export const REGISTER_FORM_SEED: i32 = 2;
export const REGISTER_FORM_COUNT: i32 = 3;

/** The form this rabbit registers with; the host sets it before boot (the firmware as shipped: stock). */
let registerForm: i32 = REGISTER_FORM_STOCK;

/** False (and nothing changes) for a form that does not exist. */
export function setRegisterForm(form: i32): bool {
  if (form < 0 || form >= REGISTER_FORM_COUNT) return false;
  registerForm = form;
  return true;
}

export function currentRegisterForm(): i32 {
  return registerForm;
}

function registerNamespace(): Ascii {
  return registerForm == REGISTER_FORM_STOCK ? "violet:iq:register" : "jabber:iq:register";
}

/** Step 1: <iq type='get' id='N'><query xmlns='NS'/></iq> (with from='JID' if this boot bound one). */
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
  writer.ascii("'><query xmlns='");
  writer.ascii(registerNamespace());
  writer.ascii("'/></iq>");
  return end();
}

/**
 * The password (spec §6.3): with password-seed, srand(t) then one draw k, and the 12 hex digits after the first of
 * MD5(decimal(k) MACC decimal(t)), t = time_ms; otherwise 12 hex digits from the host's secure source. It is pending
 * (PASSWORD_PENDING) until the registration's result: a connection lost before it leaves the rabbit's password as it
 * was, never one the server may not have.
 */
export function generatePassword(): void {
  const password = fieldData(PASSWORD_PENDING);
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
  store<i32>(PASSWORD_PENDING, PASSWORD_LENGTH);
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

/** hex-XOR(pending password, MAC), digit by digit (spec §6.3): the 12 bytes registration sends with register-xor. */
export function writeXoredPassword(out: usize): void {
  for (let i = 0; i < PASSWORD_LENGTH; i++) {
    const a = hexValue(<i32>load<u8>(fieldData(PASSWORD_PENDING) + i));
    const b = hexValue(<i32>load<u8>(fieldData(MAC_HEX) + i));
    store<u8>(out + i, <u8>hexDigit((a ^ b) & 15));
  }
}

/**
 * Step 2 (spec §6.2, compact wire form), the xmlns in double quotes as the firmware writes it:
 * <iq to='DOMAIN' type='set' id='N'><query xmlns="NS"><username>MAC</username><password>WIREPW</password>[seed:
 * <name>MAC</name><email>MAC@bunny.lab</email>]</query></iq>
 */
export function sendRegisterSet(): bool {
  const writer = begin();
  writer.ascii("<iq to='");
  escapedField(writer, DOMAIN);
  writer.ascii("' type='set' id='");
  writer.decimal(nextId());
  writer.ascii("'><query xmlns=\"");
  writer.ascii(registerNamespace());
  writer.ascii("\"><username>");
  escapedField(writer, MAC_HEX);
  writer.ascii("</username><password>");
  if (quirk(QUIRK_REGISTER_XOR)) {
    writeXoredPassword(SCRATCH);
    writer.bytes(SCRATCH, PASSWORD_LENGTH);
  } else {
    escapedField(writer, PASSWORD_PENDING);
  }
  writer.ascii("</password>");
  if (registerForm == REGISTER_FORM_SEED) {
    writer.ascii("<name>");
    escapedField(writer, MAC_HEX);
    writer.ascii("</name><email>");
    escapedField(writer, MAC_HEX);
    writer.ascii("@bunny.lab</email>");
  }
  writer.ascii("</query></iq>");
  return end();
}

/** After a successful registration: the pending password is the password, and 'd' and it at 208 (one sector rewrite). */
export function storePassword(): void {
  fieldCopy(PASSWORD, PASSWORD_PENDING);
  store<u8>(SCRATCH, <u8>FLASH_PASSWORD_FLAG);
  memory.copy(SCRATCH + 1, fieldData(PASSWORD), PASSWORD_LENGTH);
  flash_write(FLASH_PASSWORD_FLAG_OFFSET, SCRATCH, 1 + PASSWORD_LENGTH);
}

/** Sets the password (tests and the flash reader). */
export function setPassword(pointer: usize, length: i32): bool {
  return fieldSet(PASSWORD, pointer, length);
}
