/*
 * Fuzz target "packet": the violet:packet decoder (assembly/packet/packet.ts: base64, then 0x7F, frames of type,
 * 24-bit length and data, 0xFF), reached the way the platform reaches it: no export runs a packet, so the scripted
 * server (fuzz/vm.c) walks the rabbit online once per profile and delivery point, and each input is one packet from
 * there.
 *
 * Input: byte 0 is flags, the rest the packet:
 *   bit 0  profile: 0 firmware (every quirk on: the firmware's base64 decoder, its XML reader), 1 standard (every
 *          quirk off, SASL PLAIN: strict base64, the streaming tokenizer)
 *   bit 1  the rest is the <packet>'s text as it is (kept to printable ASCII and whitespace without '<', '&', '>');
 *          0: the rest is the binary packet and the harness base64-encodes it
 *   bit 2  where it comes: 0 in the answer to the rabbit's sources query (state ssGetSource, right after the
 *          session opened), 1 in a <message> once the rabbit is online and idle (state ssFree)
 *   bit 3  (with the proposed export test_packet only) the text goes straight to that export instead
 *
 * Checks: no trap, memory.size unchanged, status and state within range; every frame reported (report kind 4) has a
 * type 0x00..0x0B; a packet is either reported frame by frame or rejected (report kind 5), never both; a reboot is
 * asked only if a 0x09 frame was reported. In the standard profile with a harness-encoded packet, against a
 * reference decoder written from platform.md §3 (below): the same verdict, the same frames in the same order, a
 * reboot exactly when there is a 0x09 frame, and the resource wanted after it ("asleep" for a sleep mode frame).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rabbit-exports.h"
#include "vm.h"

static vm_snapshot* online[2][2]; /* [profile][point] */
static char stanza[3 * 8192];
static char text[2 * 8192];

static void setup(void) {
  vm_start();
  vm_snapshot* fresh = vm_save();
  for (int profile = 0; profile < 2; profile++) {
    for (int point = 0; point < 2; point++) {
      vm_restore(fresh);
      if (profile == 1) {
        Z_rabbitZ_quirks_set_all(&vm_module, 0);
        Z_rabbitZ_sasl_force(&vm_module, 3);
      }
      vm_serve(point == 0 ? VM_STOP_SOURCES : VM_STOP_FREE);
      online[profile][point] = vm_save();
    }
  }
  free(fresh);
}

/* The reference: platform.md §3 as packet.ts's header states it. */
typedef struct {
  int valid;
  int reboot;
  int mode; /* -1 none, 0 wake, 1 sleep */
  uint32_t frames;
} verdict;

static uint32_t frame_size(const uint8_t* p, uint32_t at) { return (uint32_t)p[at + 1] << 16 | (uint32_t)p[at + 2] << 8 | p[at + 3]; }

static verdict reference(const uint8_t* p, uint32_t length) {
  verdict v = {0, 0, -1, 0};
  if (length == 0 || p[0] != 0x7f) return v;
  uint32_t at = 1, starts[4096], count = 0;
  for (;;) {
    if (at >= length) return v;
    uint8_t type = p[at];
    if (type == 0xff) break;
    if (type > 0x0b || at + 4 > length) return v;
    uint32_t size = frame_size(p, at);
    if ((uint64_t)at + 4 + size > length) return v;
    if (count < 4096) starts[count++] = at;
    at += 4 + size;
  }
  v.valid = 1;
  v.frames = count;
  /* Acted on last frame first: a reboot frame stops there; of the mode frames after it, the earliest counts. */
  for (uint32_t i = count; i-- > 0;) {
    uint8_t type = p[starts[i]];
    if (type == 0x09) {
      v.reboot = 1;
      break;
    }
    if (type == 0x0b && frame_size(p, starts[i]) >= 1) v.mode = p[starts[i] + 4] == 1 ? 1 : 0;
  }
  return v;
}

/** The frames reported since `from` (offset into vm.frames) equal the packet's, in order. */
static void same_frames(const uint8_t* p, uint32_t from, uint32_t count) {
  uint32_t at = 1, seen = 0, offset = from;
  for (uint32_t i = 0; i < count; i++) {
    uint32_t size = frame_size(p, at), reported;
    if (offset + 4 > vm.frames_length) vm_fail("packet: fewer frames reported than the packet has", NULL);
    memcpy(&reported, vm.frames + offset, 4);
    if (reported != size + 1 || vm.frames[offset + 4] != p[at] || memcmp(vm.frames + offset + 5, p + at + 4, size) != 0) {
      vm_fail("packet: a reported frame differs from the packet's", NULL);
    }
    offset += 4 + reported;
    at += 4 + size;
    seen++;
  }
  if (offset != vm.frames_length && vm.frames_length < sizeof vm.frames - 64) vm_fail("packet: more frames reported than the packet has", NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t* input, size_t size) {
  if (!online[0][0]) setup();
  if (size < 1 || size > 6000) return -1;
  uint8_t flags = input[0];
  int profile = flags & 1, raw = flags >> 1 & 1, point = flags >> 2 & 1;
  const uint8_t* packet = input + 1;
  uint32_t length = (uint32_t)size - 1;
  size_t n = raw ? vm_xml_text(packet, length, text) : vm_base64(packet, length, text);

  vm_restore(online[profile][point]);
  uint32_t frames_before = vm.frames_length, rejected_before = vm.reports[5], resources_before = vm.reports[8];
#ifdef RABBIT_HAS_test_packet
  if (flags & 8) {
    /* The proposed test point (fuzz/README.md): runPacket on the text in IO_IN, PACKET_* back. */
    vm_put(text, (uint32_t)n);
    int32_t result = (int32_t)Z_rabbitZ_test_packet(&vm_module, (u32)n);
    vm_note("test_packet -> %d", result);
    if (result > 0 || result < -5) vm_fail("test_packet: a result not in the list", NULL);
    if (profile == 1 && !raw && (result == 0) != reference(packet, length).valid) vm_fail("test_packet: a verdict other than the reference's", NULL);
    vm_check_memory();
    return 0;
  }
#endif
  size_t s;
  if (point == 0) {
    s = (size_t)sprintf(stanza, "<iq from='net.violet.platform@" VM_DOMAIN "/sources' to='" VM_JID "/boot' id='3' type='result'><query "
                                "xmlns='violet:iq:sources'><packet xmlns='violet:packet' format='1.0' ttl='604800'>");
  } else {
    s = (size_t)sprintf(stanza, "<message from='net.violet.platform@" VM_DOMAIN "/sources' to='" VM_JID "/idle' id='m1'><packet "
                                "xmlns='violet:packet' format='1.0' ttl='604800'>");
  }
  memcpy(stanza + s, text, n);
  s += n;
  s += (size_t)sprintf(stanza + s, point == 0 ? "</packet></query></iq>" : "</packet></message>");
  vm_receive(stanza, (uint32_t)s);
  vm_check_memory();
  vm_check_status();

  /* Whatever the profile: each frame a known type, rejected or reported (not both), a reboot only for a 0x09 frame. */
  uint32_t reported = 0, reboot_frame = 0;
  for (uint32_t at = frames_before; at + 4 <= vm.frames_length;) {
    uint32_t frame;
    memcpy(&frame, vm.frames + at, 4);
    if (vm.frames[at + 4] > 0x0b) vm_fail("packet: a frame of an unknown type reported", NULL);
    if (vm.frames[at + 4] == 0x09) reboot_frame = 1;
    reported++;
    at += 4 + frame;
  }
  uint32_t rejected = vm.reports[5] - rejected_before;
  vm_note("packet: %u frames reported, %u rejections, reboot %d", reported, rejected, vm.reboot_asked);
  if (reported && rejected) vm_fail("packet: frames reported and the packet rejected", NULL);
  if (rejected > 1) vm_fail("packet: rejected more than once", NULL);
  if (vm.reboot_asked && !reboot_frame) vm_fail("packet: a reboot without a reboot frame", NULL);

  if (profile == 1 && !raw && length == 0) {
    /* <packet/> with no text: nothing to run (not a rejection); ssGetSource goes on to idle. */
    if (reported || rejected) vm_fail("packet: an empty <packet> was run", NULL);
  } else if (profile == 1 && !raw) {
    verdict v = reference(packet, length);
    if (v.valid != (rejected == 0)) vm_fail(v.valid ? "packet: a valid packet rejected" : "packet: an invalid packet accepted", NULL);
    if (v.valid) same_frames(packet, frames_before, v.frames);
    if (v.reboot != vm.reboot_asked) vm_fail("packet: a reboot frame and no reboot, or the other way round", NULL);
    /* The resource wanted after it: ssGetSource always says (asleep for a sleep frame, else idle); ssFree only a change. */
    const char* wanted = v.reboot ? NULL : v.valid && v.mode == 1 ? "asleep" : point == 0 ? "idle" : NULL;
    uint32_t said = vm.reports[8] - resources_before;
    if (!wanted ? said != 0 : said != 1 || vm.resource_length != strlen(wanted) || memcmp(vm.resource, wanted, strlen(wanted)) != 0) {
      vm_fail("packet: the resource wanted after it is not the reference's", NULL);
    }
  }
  vm_serve_steps(2);
  vm_check_memory();
  vm_check_status();
  return 0;
}
