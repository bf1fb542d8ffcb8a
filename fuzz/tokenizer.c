/*
 * Fuzz target "tokenizer": the XML stream tokenizer, the stanza reader built on it, and the firmware's own reader,
 * on the same bytes, through their exports (docs/ABI.md, "XML tokenizer", "Stanza trees").
 *
 * Input: byte 0 sets the firmware reader's quirks (bit 0 xml-empty-noattr, 1 xml-empty-truncate, 2 xml-nested-same,
 * 3 xml-no-entities, 4 xml-attr-syntax; the rest is ignored); byte 1's low 3 bits are a count N of chunk lengths that
 * follow (each byte b a chunk of b + 1 bytes, used in turn, over and over; N = 0: one chunk); the rest is the stream.
 *
 * Each input, on a fresh instance (the snapshot taken after instantiation):
 *   1. xml_reset, the stream as one chunk, xml_next to need-more or an error: every event record is checked (kind,
 *      level, every pointer and length inside the module's static memory, prefix, attribute count and index within
 *      their bounds), and the events are hashed;
 *   2. the same with the stream cut into the chunks above (each copied into IO_IN, fed, drained): the tokenizer
 *      resumes at any byte, so the events and the error must be the same as whole (docs: "a split cannot change the
 *      result");
 *   3. stanza_reset, the chunks through stanza_feed / stanza_next (slot 0) to need-more or an error: results within
 *      0..3, -100 or a tokenizer error; each header and stanza dumped (stanza_dump: walks the tree, writes to the
 *      UART); the counts of headers and stanzas, and the error, agree with the events of 2;
 *   4. firmware_read (slot 1) over the stream as the firmware's framing uses it (the header cut off at the first '>'
 *      after "<stream:stream", then items off the front until it is incomplete, fails or meets "</stream:stream>"):
 *      results within -2..2, the rest [firmware_rest_start, firmware_rest_end) and the text length within the
 *      buffer, each step shortening it; each element dumped.
 * After every call: no trap (a trap aborts), and memory.size unchanged.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm.h"

#define MAX_EVENTS 65536
#define SLOT_STANZA 0
#define SLOT_FIRMWARE 1

static const int FIRMWARE_QUIRKS[5] = {29, 30, 31, 32, 34};

static vm_snapshot* fresh;
static uint32_t io_in, capacity, event_at;

typedef struct {
  uint32_t count;     /* events */
  int32_t final;      /* 0, or the error that stopped it */
  uint32_t headers;   /* stream starts with all their attributes (as the stanza reader completes a header) */
  uint32_t pending;   /* attributes of the stream start still to come */
  uint32_t stanzas;   /* ELEMENT_END at level 1 */
  uint32_t ends;      /* STREAM_END */
  uint64_t hashes[MAX_EVENTS];
} run;

static run whole, split;

__attribute__((noreturn)) static void fail(const char* what, uint32_t detail) {
  char text[32];
  snprintf(text, sizeof text, "%d", (int32_t)detail);
  vm_fail(what, text);
}

static uint64_t fnv(uint64_t h, const void* data, uint32_t length) {
  const uint8_t* p = data;
  for (uint32_t i = 0; i < length; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

static uint64_t fnv32(uint64_t h, uint32_t value) { return fnv(h, &value, 4); }

static uint32_t field(uint32_t offset) {
  uint32_t value;
  memcpy(&value, vm_bytes(event_at + offset, 4), 4);
  return value;
}

/** The bytes at (pointer, length) of the event record: inside the static memory (vm_bytes checks), hashed. */
static uint64_t bytes_at(uint64_t h, uint32_t pointer_offset, uint32_t max) {
  uint32_t pointer = field(pointer_offset), length = field(pointer_offset + 4);
  if (length > max) fail("event: a length past its bound", length);
  return fnv(fnv32(h, length), vm_bytes(pointer, length), length);
}

/** Checks the event record of a `kind` > 0 event and returns its hash. */
static uint64_t check_event(int32_t kind) {
  uint64_t h = 0xcbf29ce484222325ull;
  if ((int32_t)field(0) != kind) fail("event: XML_EVENT kind is not what xml_next returned", field(0));
  uint32_t level = field(4);
  if (level > 32) fail("event: level past XML_DEPTH_MAX", level);
  if (kind == 1 && level != 0) fail("event: stream start not at level 0", level);
  if ((kind == 2 || kind == 4) && level < 1) fail("event: element at level 0", level);
  h = fnv32(fnv32(h, (uint32_t)kind), level);
  switch (kind) {
    case 1:
    case 2:
    case 4:
    case 6: {
      uint32_t name_length = field(12);
      if (name_length < 1) fail("event: empty name", name_length);
      h = bytes_at(h, 8, 1024);
      h = bytes_at(h, 28, 4096); /* namespace */
      if (kind != 6) {
        uint32_t prefix = field(24);
        if (prefix >= name_length) fail("event: prefix length not below the name's", prefix);
        h = fnv32(h, prefix);
      }
      if (kind == 1 || kind == 2) {
        uint32_t count = field(36);
        if (count > 24) fail("event: attribute count past XML_ATTRS_MAX", count);
        h = fnv32(h, count);
      }
      break;
    }
    case 3: {
      if (field(12) < 1) fail("event: empty attribute name", 0);
      h = bytes_at(h, 8, 1024);
      h = bytes_at(h, 16, 16384);
      uint32_t index = field(40);
      if (index >= 24) fail("event: attribute index past XML_ATTRS_MAX", index);
      h = fnv32(h, index);
      break;
    }
    case 5:
      h = bytes_at(h, 16, 16384);
      break;
  }
  return h;
}

/** xml_next until it needs more or fails; events into `r`. Returns 1 if the run stopped (an error). */
static int drain(run* r, uint32_t chunk) {
  /* Each call consumes input or returns 0; a unit may also be re-tried once, so this bounds a correct tokenizer. */
  for (uint32_t calls = 0; calls < 4 * chunk + 64; calls++) {
    int32_t kind = (int32_t)Z_rabbitZ_xml_next(&vm_module);
    if (kind == 0) return 0;
    if (kind < 0) {
      if (kind < -23) fail("xml_next: an error code not in the list", (uint32_t)kind);
      if ((int32_t)Z_rabbitZ_xml_next(&vm_module) != kind) fail("xml_next: the error is not repeated", (uint32_t)kind);
      r->final = kind;
      return 1;
    }
    if (kind > 6) fail("xml_next: an event kind not in the list", (uint32_t)kind);
    uint64_t h = check_event(kind);
    if (r->count < MAX_EVENTS) r->hashes[r->count] = h;
    r->count++;
    if (kind == 1 && (r->pending = field(36)) == 0) r->headers++;
    if (kind == 3 && field(4) == 0 && --r->pending == 0) r->headers++;
    if (kind == 4 && field(4) == 1) r->stanzas++;
    if (kind == 6) r->ends++;
  }
  fail("xml_next: never returns need-more on a chunk of", chunk);
}

static void feed(int stanza, uint32_t length) {
  int32_t fed = (int32_t)(stanza ? Z_rabbitZ_stanza_feed(&vm_module, io_in, length) : Z_rabbitZ_xml_feed(&vm_module, io_in, length));
  if (fed != 0) fail(stanza ? "stanza_feed refused a chunk in IO_IN" : "xml_feed refused a chunk in IO_IN", (uint32_t)fed);
}

/** The chunk lengths: `count` bytes at `lengths`, each b + 1, in turn. */
typedef struct {
  const uint8_t* lengths;
  uint32_t count, next;
} cutter;

static uint32_t next_chunk(cutter* c, uint32_t left) {
  uint32_t n = c->count ? (uint32_t)c->lengths[c->next++ % c->count] + 1 : left;
  return n < left ? n : left;
}

static void tokenize(run* r, const uint8_t* data, uint32_t size, cutter c) {
  memset(r, 0, offsetof(run, hashes));
  Z_rabbitZ_xml_reset(&vm_module);
  for (uint32_t at = 0; at < size;) {
    uint32_t n = next_chunk(&c, size - at);
    vm_put(data + at, n);
    feed(0, n);
    at += n;
    if (drain(r, n)) break;
  }
  vm_check_memory();
}

/** Inputs where one way found the error of a unit cut off by the end of the input and the other still waits for it. */
static uint64_t waiting;

static void compare(void) {
  /*
   * At the end of the input a unit may be incomplete ("<?o" with no '>' yet): whole, the parser may already see that
   * it is an error, while after a cut it carries the unit and waits for its end, or the other way round. Both then
   * have the same events; the error itself is compared on longer inputs, where the unit is complete.
   */
  if (split.final != whole.final && (split.final == 0 || whole.final == 0)) {
    waiting++;
  } else if (split.final != whole.final) {
    fprintf(stderr, "whole: %u events, error %d; split: %u events, error %d\n", whole.count, whole.final, split.count, split.final);
    fail("the split stream ends differently from the whole one", (uint32_t)split.final);
  }
  uint32_t n = whole.count < split.count ? whole.count : split.count;
  if (n > MAX_EVENTS) n = MAX_EVENTS;
  for (uint32_t i = 0; i < n; i++) {
    if (whole.hashes[i] != split.hashes[i]) fail("the split stream gives a different event at index", i);
  }
  if (whole.count != split.count) fail("the split stream gives a different number of events", split.count);
}

static void stanzas(const uint8_t* data, uint32_t size, cutter c) {
  uint32_t headers = 0, count = 0;
  int32_t final = 0;
  Z_rabbitZ_stanza_reset(&vm_module);
  for (uint32_t at = 0; at < size && final == 0;) {
    uint32_t n = next_chunk(&c, size - at);
    vm_put(data + at, n);
    feed(1, n);
    at += n;
    for (uint32_t calls = 0;; calls++) {
      if (calls > 4 * n + 64) fail("stanza_next: never returns need-more on a chunk of", n);
      int32_t result = (int32_t)Z_rabbitZ_stanza_next(&vm_module, SLOT_STANZA);
      if (result == 0) break;
      if (result < 0) {
        if (result != -100 && result < -23) fail("stanza_next: a result not in the list", (uint32_t)result);
        if ((int32_t)Z_rabbitZ_stanza_next(&vm_module, SLOT_STANZA) != result) fail("stanza_next: the error is not repeated", (uint32_t)result);
        final = result;
        break;
      }
      if (result > 3) fail("stanza_next: a result not in the list", (uint32_t)result);
      if (result == 1) headers++;
      if (result == 2) count++;
      if (result == 1 || result == 2) Z_rabbitZ_stanza_dump(&vm_module, SLOT_STANZA);
      vm_check_memory();
    }
  }
  vm_check_memory();
  vm_note("stanza reader: %u headers, %u stanzas, result %d", headers, count, final);
  /* The reader consumes the tokenizer's events (the split run's: the same chunks): its error is the tokenizer's,
   * unless a tree overflowed first. */
  if (final == -100) {
    if (headers > split.headers || count > split.stanzas) fail("stanza reader: more trees than the events allow", count);
    return;
  }
  if (final != split.final) fail("stanza reader: an error other than the tokenizer's", (uint32_t)final);
  if (headers != split.headers) fail("stanza reader: headers differ from the stream starts", headers);
  if (count != split.stanzas) fail("stanza reader: stanzas differ from the level-1 element ends", count);
}

static void firmware(const uint8_t* data, uint32_t size) {
  /* As the firmware's framing: the stream header ends at the first '>' after "<stream:stream"; the reader gets the rest. */
  const uint8_t* header = vm_find(data, size, "<stream:stream");
  const uint8_t* close = header ? memchr(header, '>', size - (size_t)(header - data)) : NULL;
  if (close) {
    size -= (uint32_t)(close + 1 - data);
    data = close + 1;
  }
  vm_put(data, size);
  uint8_t* buffer = vm_bytes(io_in, size);
  uint32_t length = size, items = 0;
  while (length > 0) {
    if (length >= 16 && memcmp(vm_bytes(io_in, 16), "</stream:stream>", 16) == 0) return;
    int32_t result = (int32_t)Z_rabbitZ_firmware_read(&vm_module, io_in, length, SLOT_FIRMWARE);
    vm_check_memory();
    vm_note("firmware_read: item %u -> %d (%u bytes left)", items++, result, length);
    if (result < -2 || result > 2) fail("firmware_read: a result not in the list", (uint32_t)result);
    if (result <= 0) return;
    uint32_t next;
    if (result == 1) {
      uint32_t start = Z_rabbitZ_firmware_rest_start(&vm_module), end = Z_rabbitZ_firmware_rest_end(&vm_module);
      if (start < 1 || start > length) fail("firmware_read: the rest starts outside the buffer", start);
      if (end < start || end > length) fail("firmware_read: the rest ends outside [start, length]", end);
      Z_rabbitZ_stanza_dump(&vm_module, SLOT_FIRMWARE);
      buffer = vm_bytes(io_in, length); /* the framing: the buffer becomes the rest */
      memmove(buffer, buffer + start, end - start);
      next = end - start;
    } else {
      uint32_t text = Z_rabbitZ_firmware_text_length(&vm_module);
      if (text < 1 || text > length) fail("firmware_read: a text item outside the buffer", text);
      buffer = vm_bytes(io_in, length); /* whitespace between stanzas is skipped */
      memmove(buffer, buffer + text, length - text);
      next = length - text;
    }
    if (next >= length) fail("firmware_read: an item that does not shorten the buffer", next);
    length = next;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t* input, size_t input_size) {
  if (!fresh) {
    vm_start();
    fresh = vm_save();
    io_in = vm_io_in();
    capacity = vm_io_in_capacity();
    event_at = vm_xml_event();
  }
  if (input_size < 2) return 0;
  uint8_t quirks = input[0];
  cutter c = {input + 2, input[1] & 7u, 0};
  if (input_size < 2 + c.count) return 0;
  const uint8_t* data = input + 2 + c.count;
  uint32_t size = (uint32_t)(input_size - 2 - c.count);
  if (size > capacity) size = capacity;

  vm_restore(fresh);
  cutter one = {NULL, 0, 0};
  tokenize(&whole, data, size, one);
  tokenize(&split, data, size, c);
  vm_note("tokenizer: %u events, result %d whole; %u events, result %d in chunks", whole.count, whole.final, split.count, split.final);
  compare();
  stanzas(data, size, c);
  for (int i = 0; i < 5; i++) Z_rabbitZ_quirk_set(&vm_module, (u32)FIRMWARE_QUIRKS[i], (quirks >> i) & 1u);
  firmware(data, size);
  return 0;
}
