/*
 * Fuzz target "scram": the SCRAM-SHA-1 server-first and server-final parsers (assembly/xmpp/sasl-scram.ts) through
 * their test points (docs/ABI.md, "Test points"): test_scram_first for the user "f81edfee27c1" (the nonce comes from
 * random_bytes, which this host fills with (i * 37 + 11) & 0xFF: the client nonce is always
 * "CzBVep/E6Q4zWH2ix+wRNluA"), then test_scram_final with the input's server-first and the password "0123456789ab",
 * then test_scram_verify with its server-final.
 *
 * Input: byte 0 is flags (bit 0: skip test_scram_first, so the final step is out of order), then the server-first
 * message, then optionally "\n" and the server-final message. Inputs asking for more than 16 PBKDF2 iterations (any
 * "i=" followed by a number in 17..100000) are rejected (not kept in the corpus): the derivation costs two SHA-1
 * compressions per iteration and says nothing about the parser; the bound itself (100000) and what is past it are
 * still explored.
 *
 * Checks: no trap, memory.size unchanged; client-first is "n,,n=f81edfee27c1,r=" and the nonce; test_scram_final
 * returns a length or one of -1..-6, -9 (-9 exactly when the first step was skipped), and a client-final
 * "c=biws,r=NONCE,p=PROOF" whose nonce is the server's and starts with ours, with a 28-character proof;
 * test_scram_verify returns 0, -1, -7, -8 or -9 (-9 exactly when there was no client-final).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm.h"

#define USER VM_MAC_HEX
#define CLIENT_NONCE "CzBVep/E6Q4zWH2ix+wRNluA"
#define ITERATIONS_FUZZED 16

static vm_snapshot* fresh;
static uint32_t io_out;

static int32_t call_final(const uint8_t* message, uint32_t length) {
  /* IO_IN: the server-first message, then the password right after it. */
  uint8_t in[4096 + 16];
  memcpy(in, message, length);
  memcpy(in + length, VM_PASSWORD, 12);
  vm_put(in, length + 12);
  return (int32_t)Z_rabbitZ_test_scram_final(&vm_module, length, length, 12);
}

/** Any "i=" followed by a number the module would take, above what is fuzzed. */
static int too_many_iterations(const uint8_t* message, size_t length) {
  for (size_t i = 0; i + 2 < length; i++) {
    if (message[i] != 'i' || message[i + 1] != '=') continue;
    uint32_t value = 0;
    size_t digits = 0;
    for (size_t j = i + 2; j < length && digits < 10 && message[j] >= '0' && message[j] <= '9'; j++, digits++) value = value * 10 + (uint32_t)(message[j] - '0');
    if (digits > 0 && value > ITERATIONS_FUZZED && value <= 100000) return 1;
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t* input, size_t size) {
  if (!fresh) {
    vm_start();
    fresh = vm_save();
    io_out = vm_io_out();
  }
  if (size < 1 || size > 4096) return -1;
  int skip_first = input[0] & 1;
  const uint8_t* first = input + 1;
  const uint8_t* newline = memchr(first, '\n', size - 1);
  uint32_t first_length = newline ? (uint32_t)(newline - first) : (uint32_t)(size - 1);
  const uint8_t* final = newline ? newline + 1 : NULL;
  uint32_t final_length = newline ? (uint32_t)(size - 1 - first_length - 1) : 0;
  if (too_many_iterations(first, first_length)) return -1;

  vm_restore(fresh);
  if (!skip_first) {
    vm_put(USER, 12);
    int32_t length = (int32_t)Z_rabbitZ_test_scram_first(&vm_module, 12);
    static const char expected[] = "n,,n=" USER ",r=" CLIENT_NONCE;
    if (length != (int32_t)sizeof expected - 1 || memcmp(vm_bytes(io_out, (uint32_t)length), expected, (size_t)length) != 0) {
      vm_fail("test_scram_first: not the client-first message expected", NULL);
    }
  }
  int32_t result = call_final(first, first_length);
  vm_note("test_scram_final -> %d", result);
  vm_check_memory();
  if (skip_first != (result == -9)) vm_fail("test_scram_final: -9 (out of order) when it is not, or not when it is", NULL);
  if (result < -9 || result == -7 || result == -8 || result == 0) vm_fail("test_scram_final: a result not in the list", NULL);
  if (result > 0) {
    /* c=biws,r=NONCE,p=PROOF: the nonce the server sent (it starts with ours), the proof 20 bytes in base64. */
    const uint8_t* message = vm_bytes(io_out, (uint32_t)result);
    const uint8_t* proof = vm_find(message, (size_t)result, ",p=");
    size_t nonce = strlen("c=biws,r=");
    if ((size_t)result < nonce || memcmp(message, "c=biws,r=", nonce) != 0 || !proof) vm_fail("client-final: not c=biws,r=...,p=...", NULL);
    size_t nonce_length = (size_t)(proof - message) - nonce;
    if (first_length < 2 + nonce_length || memcmp(first, "r=", 2) != 0 || memcmp(first + 2, message + nonce, nonce_length) != 0 ||
        (first_length > 2 + nonce_length && first[2 + nonce_length] != ',')) {
      vm_fail("client-final: the nonce is not the server's", NULL);
    }
    if (nonce_length <= strlen(CLIENT_NONCE) || memcmp(message + nonce, CLIENT_NONCE, strlen(CLIENT_NONCE)) != 0) {
      vm_fail("client-final: the server's nonce does not extend ours, and it was taken", NULL);
    }
    if ((size_t)result - (size_t)(proof - message) != 3 + 28) vm_fail("client-final: the proof is not 28 base64 characters", NULL);
  }
  if (final) {
    vm_put(final, final_length);
    int32_t verified = (int32_t)Z_rabbitZ_test_scram_verify(&vm_module, final_length);
    vm_note("test_scram_verify -> %d", verified);
    vm_check_memory();
    if (verified != 0 && verified != -1 && verified != -7 && verified != -8 && verified != -9) vm_fail("test_scram_verify: a result not in the list", NULL);
    if ((result > 0) != (verified != -9)) vm_fail("test_scram_verify: -9 (out of order) when it is not, or not when it is", NULL);
  }
  return 0;
}
