/*
 * The fuzz targets' host: the module (build/rabbit.wasm through wasm2c, the same C as port/build.mjs makes) with
 * every import of docs/ABI.md, on a virtual clock, checking every range the module hands over, plus a small scripted
 * XMPP server that walks a rabbit to a given point of its session (fuzz/README.md, "The host").
 *
 * One instance per process. A target brings it to the point it fuzzes once (vm_start, then the server), takes a
 * snapshot (the linear memory, the module's globals and this host's state), and restores it before every input: each
 * input meets the same rabbit, as a fresh process replaying it would.
 */
#ifndef FUZZ_VM_H
#define FUZZ_VM_H

#include <stddef.h>
#include <stdint.h>

#include "rabbit.h"

#define VM_FLASH_SIZE 4096
#define VM_SENT_CAPACITY 16384
#define VM_FRAMES_CAPACITY 16384
#define VM_NAME_CAPACITY 512
#define VM_REPORT_KINDS 9

/* The MAC, the flash password and the domain the scripted server uses (fuzz/README.md). */
#define VM_MAC_HEX "f81edfee27c1"
#define VM_PASSWORD "0123456789ab"
#define VM_DOMAIN "almacska"
#define VM_JID VM_MAC_HEX "@" VM_DOMAIN
#define VM_ADDRESS "10.0.0.1"

struct Z_vm_instance_t {
  uint32_t clock; /* time_ms */
  uint32_t rng;
  uint8_t mac[6];
  uint8_t flash[VM_FLASH_SIZE];
  uint32_t next_id; /* handles and request numbers, from 1 */
  /* The connection the module has open (it never has more than one); -1 none. */
  int32_t socket;
  int established;
  uint8_t address[VM_NAME_CAPACITY];
  uint32_t address_length, port, opens, closes;
  /* What the module sent on its connections, and how much of it the server has read. */
  uint8_t sent[VM_SENT_CAPACITY];
  uint32_t sent_length, sent_read, sends;
  /* The latest HTTP request with a body and the latest DNS query, until answered (-1: none). */
  int32_t http_request;
  uint32_t http_requests;
  int32_t dns_request;
  uint32_t dns_type, dns_queries;
  uint8_t dns_name[VM_NAME_CAPACITY];
  uint32_t dns_name_length;
  int reboot_asked;
  uint64_t uart_bytes;
  /* report(): calls per kind; the frames (u32 length, then type and data, each), the last resource wanted. */
  uint32_t reports[VM_REPORT_KINDS];
  uint8_t frames[VM_FRAMES_CAPACITY];
  uint32_t frames_length;
  uint8_t resource[64];
  uint32_t resource_length;
  /* The scripted server: whether SASL succeeded on this connection. */
  int authenticated;
};

extern Z_rabbit_instance_t vm_module;
extern struct Z_vm_instance_t vm;

/** Stops the process with a message (abort: libFuzzer keeps the input as a crash). */
__attribute__((noreturn)) void vm_fail(const char* what, const char* detail);

/** With FUZZ_VERBOSE set, a line on stderr (what a target saw: results, lengths), printf-style. */
void vm_note(const char* format, ...) __attribute__((format(printf, 1, 2)));

/** Instantiates the module once per process: MAC, flash with the password (no registration), quirks as given. */
void vm_start(void);

/** The module's memory [pointer, pointer + length): a range outside what it uses (arena_end) is a bug. */
uint8_t* vm_bytes(uint32_t pointer, uint32_t length);

uint32_t vm_io_in(void);
uint32_t vm_io_in_capacity(void);
uint32_t vm_io_out(void);
uint32_t vm_xml_event(void);
uint32_t vm_arena_end(void);

/** Copies bytes into IO_IN (at most its capacity). */
void vm_put(const void* bytes, uint32_t length);

/** The memory is still 4 pages (262,144 bytes) and nothing has changed its size. */
void vm_check_memory(void);

/** The module's status and state are within their documented ranges (0..6, 0..8). */
void vm_check_status(void);

/** Whole instance state: the linear memory, the module's globals, the host's state. */
typedef struct vm_snapshot vm_snapshot;
vm_snapshot* vm_save(void);
void vm_restore(const vm_snapshot* snapshot);

/** One main-loop tick (50 ms of virtual time). */
void vm_tick(void);

/** Bytes from the server on the open connection (tcp_event 1), in pieces of at most IO_IN_CAPACITY. */
void vm_receive(const void* bytes, uint32_t length);

/** A NUL-terminated string from the server. */
void vm_receive_text(const char* text);

/** What the module sent since the server last looked (and marks it read). */
const uint8_t* vm_unread(uint32_t* length);

/** Where the scripted server stops. */
typedef enum {
  VM_STOP_AUTH,    /* the rabbit sent <auth> (status logging, waiting for a challenge or success) */
  VM_STOP_SOURCES, /* the rabbit asked for its sources (state ssGetSource) */
  VM_STOP_FREE,    /* online: session open, presence echoed, state ssFree */
} vm_stop;

/**
 * The scripted server: boots the rabbit, answers locate.jsp, DNS, connects, and plays an XMPP server (the lab's
 * happy path) until `stop`. Any failure to get there stops the process (a broken setup, not a finding).
 */
void vm_serve(vm_stop stop);

/** Runs the server's answers and ticks for `steps` more steps, whatever the rabbit does (after an input). */
void vm_serve_steps(int steps);

/** Standard base64 (RFC 4648, padded) of [bytes, bytes + length) into out (room for 4 * ceil(length / 3)); its length. */
size_t vm_base64(const uint8_t* bytes, size_t length, char* out);

/** Bytes a fuzzer gave, kept to what can stand as XML text (printable ASCII and whitespace, no '<', '&', '>'). */
size_t vm_xml_text(const uint8_t* bytes, size_t length, char* out);

/** memmem, for the harnesses. */
const uint8_t* vm_find(const uint8_t* haystack, size_t length, const char* needle);

#endif
