// SASL PLAIN (RFC 4616): the password in the clear, inside base64, as the initial response. The fallback when a
// server offers neither SCRAM-SHA-1 nor DIGEST-MD5; servers offer it only over TLS unless configured otherwise.

import { SCRATCH, SCRATCH_CAPACITY } from "../memory-map";
import { begin, end } from "./output";

/** <auth mechanism='PLAIN'> with "\0user\0password" (no authorization identity). */
export function plainAuth(user: usize, userLength: i32, password: usize, passwordLength: i32): bool {
  const length = 2 + userLength + passwordLength;
  if (length > SCRATCH_CAPACITY) return false;
  store<u8>(SCRATCH, 0);
  memory.copy(SCRATCH + 1, user, <usize>userLength);
  store<u8>(SCRATCH + 1 + <usize>userLength, 0);
  memory.copy(SCRATCH + 2 + <usize>userLength, password, <usize>passwordLength);
  const writer = begin();
  writer.ascii("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>");
  writer.base64(SCRATCH, length);
  writer.ascii("</auth>");
  memory.fill(SCRATCH, 0, <usize>length); // the password does not linger in scratch memory
  return end();
}
