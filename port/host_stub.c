/*
 * The rabbit on a real device: what a firmware fills in. Every import of docs/ABI.md is here with its contract and a
 * TODO body; rabbit_firmware_main() is the VM's main loop. It compiles as it is (port/build.mjs compiles it for
 * Linux and links it for ARMv4T Thumb with port/arm/rt.c, which gives the footprint figures of port/README.md), but
 * does nothing useful until the TODOs are done. host_posix.c is a complete host to compare with.
 *
 * Rules (docs/ABI.md, "Conventions"): every number is an i32; pointers are offsets into the module's memory
 * (module_bytes() turns them into C pointers); bytes an import receives are valid only during the call (copy them);
 * an import never calls an export: results that take time come back later, from the main loop, through tcp_event,
 * http_done and dns_done.
 */

#include <stdint.h>
#include <string.h>

#include "port.h"
#include "trap.h"
#include "wasm-rt.h"

/* The import structs are the host's own: the module only hands their pointers back to the imports. */
struct Z_vm_instance_t {
  Z_rabbit_instance_t module;
  uint32_t boot_ms;     /* the device clock when this instance booted */
  uint32_t rng;         /* the VM generator's state */
  int reboot_asked;
};

static struct Z_vm_instance_t vm;

#if PORT_ENV_ABORT
/* Only a debug build imports env.abort (its failed assertions); a firmware runs a release or the device build. */
struct Z_env_instance_t {
  int unused;
};

static struct Z_env_instance_t env;
#define INSTANTIATE() Z_rabbit_instantiate(&vm.module, &env, &vm)
#else
#define INSTANTIATE() Z_rabbit_instantiate(&vm.module, &vm)
#endif

/* TODO: the device's millisecond counter (any origin; it may wrap). */
static uint32_t device_ms(void) { return 0; }

/* TODO: where the device maps its 4 KB flash sector (erased = 0xFF): it is read in place, never copied to RAM. */
#ifndef PORT_FLASH_SECTOR
#define PORT_FLASH_SECTOR 0x00000000u
#endif
#define FLASH_SECTOR_SIZE 4096u
static const uint8_t* flash_sector(void) { return (const uint8_t*)(uintptr_t)PORT_FLASH_SECTOR; }

/*
 * Heap for wasm2c's runtime (port/arm/rt.c's malloc): the full module's memory (whole 64 KiB pages) and a few small
 * tables. The device build's memory is port/arena.c's static array instead, so its heap holds the tables alone
 * (port/build.mjs passes PORT_HEAP_BYTES for it).
 */
#ifndef PORT_HEAP_BYTES
#define PORT_HEAP_BYTES ((256 + 8) * 1024)
#endif
void port_heap(void* base, uint32_t size);
static uint8_t heap[PORT_HEAP_BYTES] __attribute__((aligned(8)));

static uint8_t* module_bytes(uint32_t pointer) { return Z_rabbitZ_memory(&vm.module)->data + pointer; }

/** The debug UART: raw bytes, lines end with "\n". */
void Z_vmZ_uart_write(struct Z_vm_instance_t* v, u32 pointer, u32 length) {
  (void)v, (void)pointer, (void)length; /* TODO: send module_bytes(pointer)[0..length) to the serial port */
}

/** Milliseconds since this instance booted, 31 bits. */
u32 Z_vmZ_time_ms(struct Z_vm_instance_t* v) { return (device_ms() - v->boot_ms) & 0x7fffffffu; }

/** The VM generator, bit-exact (spec §2.1): the firmware profile's cnonce and password depend on it. */
u32 Z_vmZ_rand(struct Z_vm_instance_t* v) {
  v->rng = v->rng * 0x1234567u + 11u;
  return (v->rng >> 8) & 0xffffu;
}

void Z_vmZ_srand(struct Z_vm_instance_t* v, u32 seed) { v->rng = seed; }

/** Cryptographically secure bytes (standard profile: cnonce, password, SCRAM nonce). */
void Z_vmZ_random_bytes(struct Z_vm_instance_t* v, u32 pointer, u32 length) {
  (void)v, (void)pointer, (void)length; /* TODO: fill module_bytes(pointer)[0..length) from a hardware RNG */
}

/** The 6-byte MAC address at pointer. */
void Z_vmZ_mac_address(struct Z_vm_instance_t* v, u32 pointer) {
  (void)v;
  memset(module_bytes(pointer), 0, 6); /* TODO: the device's MAC */
}

/** Copy from the flash sector; offsets clamped to it; bytes past it read 0xFF. */
void Z_vmZ_flash_read(struct Z_vm_instance_t* v, u32 offset, u32 pointer, u32 length) {
  (void)v;
  uint32_t start = (int32_t)offset < 0 ? 0 : offset > FLASH_SECTOR_SIZE ? FLASH_SECTOR_SIZE : offset;
  uint32_t available = FLASH_SECTOR_SIZE - start;
  memset(module_bytes(pointer), 0xff, length);
  memcpy(module_bytes(pointer), flash_sector() + start, length < available ? length : available);
}

/** Write into the sector, atomically (the device reprograms the whole sector). */
void Z_vmZ_flash_write(struct Z_vm_instance_t* v, u32 offset, u32 pointer, u32 length) {
  (void)v, (void)offset, (void)pointer, (void)length; /* TODO: update a copy, erase, program the whole sector */
}

/** Open TCP to a dotted IPv4 address (address, address_length); return a handle >= 0 at once. Connecting is
 *  asynchronous: the main loop calls tcp_event(handle, 0, 0) when connected, tcp_event(handle, -1, 0) on failure. */
u32 Z_vmZ_tcp_open(struct Z_vm_instance_t* v, u32 address, u32 address_length, u32 port) {
  (void)v, (void)address, (void)address_length, (void)port;
  return 0; /* TODO */
}

/** Offer bytes [start, length) at pointer; take what fits (the device: 1024 at most) and return the index of the
 *  next byte not taken, or -1 if the connection is not established. The module offers the rest on the next
 *  writable event (tcp_event(handle, 0, 0)). */
u32 Z_vmZ_tcp_send(struct Z_vm_instance_t* v, u32 handle, u32 pointer, u32 length, u32 start) {
  (void)v, (void)handle, (void)pointer, (void)length, (void)start;
  return (u32)-1; /* TODO */
}

/** Close; no event follows for this handle. */
void Z_vmZ_tcp_close(struct Z_vm_instance_t* v, u32 handle) {
  (void)v, (void)handle; /* TODO */
}

/** GET host[:port]/path (maybe "http://" first), HTTP/1.0, User-Agent MTL, Pragma: no-cache, Icy-MetaData:1,
 *  Host without the port; follow up to two 302; only a 200 counts. With want_body, the main loop calls
 *  http_done(request, status or -1, body length) with the body (at most IO_IN_CAPACITY bytes) in IO_IN. */
u32 Z_vmZ_http_get(struct Z_vm_instance_t* v, u32 url, u32 url_length, u32 want_body) {
  (void)v, (void)url, (void)url_length, (void)want_body;
  return 0; /* TODO: a request number */
}

/** DNS: type 33 (SRV, 7 s timeout) or 1 (A, 5 s). The main loop calls dns_done(request, count or -1, length) with
 *  the answer in IO_IN: A, the dotted address; SRV, per record port, priority, weight (u16 LE each), the target's
 *  length (u8) and the target. */
u32 Z_vmZ_dns_query(struct Z_vm_instance_t* v, u32 type, u32 name, u32 name_length) {
  (void)v, (void)type, (void)name, (void)name_length;
  return 0; /* TODO: a request number */
}

/** LED 0 nose, 1 left, 2 middle, 3 right, 4 base, to 0xRRGGBB. */
void Z_vmZ_led_set(struct Z_vm_instance_t* v, u32 index, u32 rgb) {
  (void)v, (void)index, (void)rgb; /* TODO */
}

/** Reboot: after the current export call returns (see rabbit_firmware_main). */
void Z_vmZ_reboot(struct Z_vm_instance_t* v) { v->reboot_asked = 1; }

/** Something to show: 1 status, 2 state, 3 online JID, 4 packet frame, 5 packet rejected, 6 error, 7 rebooting,
 *  8 resource wanted. A device may ignore it. */
void Z_vmZ_report(struct Z_vm_instance_t* v, u32 kind, u32 pointer, u32 length) {
  (void)v, (void)kind, (void)pointer, (void)length;
}

#if PORT_ENV_ABORT
/** A failed assertion (debug builds): a bug. message and file are UTF-16 strings, byte length at pointer - 4. */
void Z_envZ_abort(struct Z_env_instance_t* e, u32 message, u32 file, u32 line, u32 column) {
  (void)e, (void)message, (void)file, (void)line, (void)column;
  for (;;) {
  } /* TODO: log and reset the device */
}
#endif

/** wasm2c's runtime calls this on a trap (compiled with -DWASM_RT_TRAP_HANDLER=port_trap): a bug, as above. */
void port_trap(wasm_rt_trap_t code) {
  (void)code;
  for (;;) {
  } /* TODO: log and reset the device */
}

/*
 * An event for the module, as the device's drivers leave it (TODO: the network stack, the HTTP and DNS clients, the
 * button and the ears fill this in, from their interrupt handlers or their own loop). `volatile`: the compiler must
 * not assume it stays empty, so every export a firmware calls is in the stub's footprint.
 */
typedef struct {
  uint32_t kind; /* 0 none, then EVENT_* */
  uint32_t a, b, c;
} device_event;

enum { EVENT_TCP = 1, EVENT_HTTP = 2, EVENT_DNS = 3, EVENT_BUTTON = 4, EVENT_EARS = 5 };

static volatile device_event pending;

/*
 * Delivers what the drivers left, from the main loop (never from inside an import). For received bytes: copy at most
 * IO_IN_CAPACITY of them to module_bytes(*Z_rabbitZ_IO_IN(&vm.module)) first, and give their length; the same for an
 * HTTP body (http_done) and a DNS answer (dns_done).
 */
static void deliver_events(void) {
  uint32_t kind = pending.kind, a = pending.a, b = pending.b, c = pending.c;
  pending.kind = 0;
  if (kind == EVENT_TCP) Z_rabbitZ_tcp_event(&vm.module, a, b, c);           /* handle, 0/1/-1, length */
  else if (kind == EVENT_HTTP) Z_rabbitZ_http_done(&vm.module, a, b, c);     /* request, status or -1, length */
  else if (kind == EVENT_DNS) Z_rabbitZ_dns_done(&vm.module, a, b, c);       /* request, count or -1, length */
  else if (kind == EVENT_BUTTON) Z_rabbitZ_button(&vm.module, a);            /* 1 click, 2 double click */
  else if (kind == EVENT_EARS) Z_rabbitZ_ears(&vm.module, a, b);             /* left, right */
}

/* TODO: sleep until the device clock reaches `ms` (this instance's time_ms) or an event comes. */
static void sleep_until(uint32_t ms) { (void)ms; }

/** The VM: one instance per boot, ticked every 50 ms; a reboot drops the instance and makes a fresh one. */
void rabbit_firmware_main(void) {
  port_heap(heap, sizeof heap);
  wasm_rt_init();
  Z_rabbit_init_module();
  for (;;) {
    vm.boot_ms = device_ms();
    vm.reboot_asked = 0;
    INSTANTIATE();
    /* Settings before boot (docs/ABI.md, Lifecycle 2): the device build takes only register_form_set; a full build
       also quirk_set, quirks_set_all and sasl_force (every quirk starts on: the firmware profile). */
    Z_rabbitZ_boot(&vm.module);
    uint32_t next_tick = 50;
    while (!vm.reboot_asked) {
      deliver_events();
      if (vm.reboot_asked) break;
      if ((int32_t)(Z_vmZ_time_ms(&vm) - next_tick) >= 0) {
        Z_rabbitZ_tick(&vm.module);
        next_tick += 50;
      }
      /* The ticks before next_tick_ms() do nothing (docs/ABI.md, "Lifecycle" 4): a device may sleep through them. */
      uint32_t due = Z_rabbitZ_next_tick_ms(&vm.module);
      if ((int32_t)due > (int32_t)next_tick) next_tick = due;
      sleep_until(next_tick);
    }
    /* TODO: close this instance's connections, forget its requests; the flash stays. */
    Z_rabbit_free(&vm.module);
  }
}
