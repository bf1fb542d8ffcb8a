/*
 * Fuzz target "digest-md5": the SASL DIGEST-MD5 challenge parser (assembly/xmpp/sasl-digest-md5.ts: the firmware's
 * decoder and split, and the RFC 2831 directive parser), reached the way a server reaches it: no export calls it
 * directly, so the rabbit is walked by the scripted server (fuzz/vm.c) to the point where it has sent
 * <auth mechanism='DIGEST-MD5'/>, once per profile, and each input is a <challenge> from there.
 *
 * Input: byte 0 is flags, the rest one or two payloads separated by "\n--\n":
 *   bit 0  profile: 0 firmware (every quirk on: the firmware's base64 decoder and split, silent on a bad challenge),
 *          1 standard (every quirk off, sasl_force(DIGEST-MD5): strict base64, RFC 2831 parser, <abort/>)
 *   bit 1  the first payload is the <challenge>'s text as it is (kept to printable ASCII and whitespace without '<',
 *          '&', '>'); 0: the harness base64-encodes it (the payload is the decoded challenge)
 *   bit 2  the second payload comes in <success> (0: in a second <challenge>: the rspauth round)
 *   bit 3  as bit 1, for the second payload
 *   bit 4  (with the proposed export test_digest_challenge only) the payloads go straight to that export instead
 *   bit 5  with bits 0 and 1 (standard profile, text as it is): each '|' in the first payload becomes a child element
 *          <x/>, cutting the text in pieces; the challenge is then delivered again from the same point without them
 *          (the pieces joined, as text() joins them), and the rabbit must say exactly the same both times
 * The second payload is delivered only if the rabbit answered the first with a response.
 *
 * Checks: no trap, memory.size unchanged, status and state within range; every <response> the rabbit sends holds
 * nothing but base64, and the first one starts with base64('username="f81edfee27c1",'); the firmware profile never
 * sends <abort/> (sasl-silent); the standard profile answers the first challenge with a response or <abort/>; with
 * bit 5, a text in pieces gets the same answer as the same text whole.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rabbit-exports.h"
#include "vm.h"

#define SEPARATOR "\n--\n"
#define RESPONSE "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
#define ABORT "<abort xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"
/* base64('username="f81edfee27c1",'): 24 bytes, 32 characters without padding. */
#define USERNAME_B64 "dXNlcm5hbWU9ImY4MWVkZmVlMjdjMSIs"

static vm_snapshot* at_auth[2];
static char stanza[4 * 16384];

static void setup(void) {
  vm_start();
  vm_snapshot* fresh = vm_save();
  for (int profile = 0; profile < 2; profile++) {
    vm_restore(fresh);
    if (profile == 1) {
      Z_rabbitZ_quirks_set_all(&vm_module, 0);
      Z_rabbitZ_sasl_force(&vm_module, 1);
    }
    vm_serve(VM_STOP_AUTH);
    at_auth[profile] = vm_save();
  }
  free(fresh);
}

/** The payload as element text: base64 of it, or itself kept to what XML text allows. */
static size_t text_of(const uint8_t* payload, size_t length, int raw, char* out) {
  return raw ? vm_xml_text(payload, length, out) : vm_base64(payload, length, out);
}

/** Delivers the payload in <element>; with `pieces` 1, each '|' of the text becomes <x/>, with 2 it is dropped. */
static void deliver(const char* element, const uint8_t* payload, size_t length, int raw, int pieces) {
  static char text[2 * 16384];
  size_t n = text_of(payload, length, raw, text);
  size_t s = (size_t)sprintf(stanza, "<%s xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>", element);
  for (size_t i = 0; i < n; i++) {
    if (pieces == 0 || text[i] != '|') {
      stanza[s++] = text[i];
    } else if (pieces == 1) {
      memcpy(stanza + s, "<x/>", 4);
      s += 4;
    }
  }
  s += (size_t)sprintf(stanza + s, "</%s>", element);
  vm_receive(stanza, (uint32_t)s);
}

/**
 * Bit 5 (standard profile, text as it is): the challenge with its text in pieces, then the same text whole from the
 * same point; the rabbit must send the same bytes both times.
 */
static void pieces_agree(const uint8_t* payload, size_t length) {
  static uint8_t in_pieces[16384];
  deliver("challenge", payload, length, 1, 1);
  uint32_t n;
  const uint8_t* out = vm_unread(&n);
  if (n > sizeof in_pieces) vm_fail("the answer to a challenge is longer than the harness keeps", NULL);
  memcpy(in_pieces, out, n);
  vm_restore(at_auth[1]);
  deliver("challenge", payload, length, 1, 2);
  uint32_t whole_length;
  const uint8_t* whole = vm_unread(&whole_length);
  vm_note("pieces: %u bytes sent, whole: %u", n, whole_length);
  if (whole_length != n || memcmp(whole, in_pieces, n) != 0) {
    vm_fail("a challenge whose text comes in pieces gets another answer than the same text whole", NULL);
  }
}

static int is_base64(uint8_t c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
}

/** What the rabbit said: 1 a response with content, 2 <abort/>, 3 an empty response, 0 none of them. */
static int answer(int first) {
  uint32_t n;
  const uint8_t* out = vm_unread(&n);
  int result = 0;
  const uint8_t* r = vm_find(out, n, RESPONSE);
  if (r) {
    const uint8_t* p = r + strlen(RESPONSE);
    const uint8_t* end = out + n;
    const uint8_t* content = p;
    while (p < end && is_base64(*p)) p++;
    if (end - p < 11 || memcmp(p, "</response>", 11) != 0) vm_fail("a <response> with something other than base64 in it", NULL);
    if (first && ((size_t)(p - content) < 32 || memcmp(content, USERNAME_B64, 32) != 0)) {
      vm_fail("the response does not start with username=\"MAC\",", NULL);
    }
    result = 1;
  }
  if (vm_find(out, n, ABORT)) result = result ? -1 : 2;
  if (vm_find(out, n, "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")) result = result ? -1 : 3;
  if (result < 0) vm_fail("the rabbit answered one challenge twice", NULL);
  return result;
}

int LLVMFuzzerTestOneInput(const uint8_t* input, size_t size) {
  if (!at_auth[0]) {
    setup();
  }
  if (size < 1 || size > 8192) return -1;
  uint8_t flags = input[0];
  int profile = flags & 1;
  const uint8_t* one = input + 1;
  const uint8_t* cut = vm_find(one, size - 1, SEPARATOR);
  size_t one_length = cut ? (size_t)(cut - one) : size - 1;
  const uint8_t* two = cut ? cut + strlen(SEPARATOR) : NULL;
  size_t two_length = cut ? size - 1 - one_length - strlen(SEPARATOR) : 0;

  vm_restore(at_auth[profile]);
  /* Each piece is a node of the tree: past TREE_NODES_MAX (160) the stanza is too large, rightly, whole or not. */
  size_t markers = 0;
  for (size_t i = 0; i < one_length; i++) markers += one[i] == '|';
  int pieces = (flags & 0x23) != 0x23 ? 0 : markers > 0 && markers <= 64 ? 1 : 2;
  if (pieces == 1) {
    pieces_agree(one, one_length);
    vm_restore(at_auth[profile]);
  }
#ifdef RABBIT_HAS_test_digest_challenge
  if (flags & 16) {
    /* The proposed test point (fuzz/README.md): the challenge step on the text in IO_IN, CHALLENGE_* back. */
    char* text = stanza;
    size_t n = text_of(one, one_length, flags >> 1 & 1, text);
    vm_put(text, (uint32_t)n);
    int32_t result = (int32_t)Z_rabbitZ_test_digest_challenge(&vm_module, (u32)n);
    vm_note("test_digest_challenge -> %d", result);
    if (result != 1 && result != 2 && result != -1 && result != -2) vm_fail("test_digest_challenge: a result not in the list", NULL);
    if (result == 1 && two) {
      n = text_of(two, two_length, flags >> 3 & 1, text);
      vm_put(text, (uint32_t)n);
      result = (int32_t)Z_rabbitZ_test_digest_challenge(&vm_module, (u32)n);
      vm_note("test_digest_challenge (second) -> %d", result);
      if (result != 1 && result != 2 && result != -1 && result != -2) vm_fail("test_digest_challenge: a result not in the list", NULL);
    }
    vm_check_memory();
    return 0;
  }
#endif
  deliver("challenge", one, one_length, flags >> 1 & 1, pieces);
  int said = answer(1);
  vm_note("challenge: %s", said == 1 ? "response" : said == 2 ? "abort" : said == 3 ? "empty response" : "no answer");
  vm_check_memory();
  vm_check_status();
  if (profile == 0 && said == 2) vm_fail("the firmware profile sent <abort/> (it is silent on a bad challenge)", NULL);
  if (profile == 1 && said != 1 && said != 2) vm_fail("the standard profile neither answered the challenge nor aborted", NULL);
  if (said == 1 && two) {
    deliver(flags & 4 ? "success" : "challenge", two, two_length, flags >> 3 & 1, 0);
    said = answer(0);
    vm_note("%s: %s", flags & 4 ? "success" : "second challenge", said == 1 ? "response" : said == 2 ? "abort" : said == 3 ? "empty response" : "no answer");
    if (profile == 0 && said == 2) vm_fail("the firmware profile sent <abort/> (it is silent on a bad challenge)", NULL);
  }
  vm_serve_steps(2);
  vm_check_memory();
  vm_check_status();
  return 0;
}
