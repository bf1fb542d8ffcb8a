/*
 * The fuzz targets' host (fuzz/vm.h): every import of docs/ABI.md, each checking the range it is given, a snapshot
 * of the whole instance, and a scripted XMPP server (the lab's happy path, test/scripts.ts) to walk the rabbit to the
 * point a target fuzzes.
 */
#include "vm.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trap.h"
#include "wasm-rt.h"

Z_rabbit_instance_t vm_module;
struct Z_vm_instance_t vm;

static uint32_t arena_end;

void vm_fail(const char* what, const char* detail) {
  fprintf(stderr, "fuzz: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  abort();
}

void vm_note(const char* format, ...) {
  static int verbose = -1;
  if (verbose < 0) verbose = getenv("FUZZ_VERBOSE") != NULL;
  if (!verbose) return;
  va_list args;
  va_start(args, format);
  fputs("fuzz: ", stderr);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
}

/* ---------------------------------------------------------------------------------------------------------------- */
/* Memory.                                                                                                           */

uint8_t* vm_bytes(uint32_t pointer, uint32_t length) {
  wasm_rt_memory_t* memory = Z_rabbitZ_memory(&vm_module);
  if ((int32_t)length < 0 || pointer > arena_end || length > arena_end - pointer) {
    char detail[64];
    snprintf(detail, sizeof detail, "pointer %u, length %d, arena end %u", pointer, (int32_t)length, arena_end);
    vm_fail("the module handed over a range outside its static memory", detail);
  }
  return memory->data + pointer;
}

uint32_t vm_io_in(void) { return *Z_rabbitZ_IO_IN(&vm_module); }
uint32_t vm_io_in_capacity(void) { return *Z_rabbitZ_IO_IN_CAPACITY(&vm_module); }
uint32_t vm_io_out(void) { return *Z_rabbitZ_IO_OUT(&vm_module); }
uint32_t vm_xml_event(void) { return *Z_rabbitZ_XML_EVENT(&vm_module); }
uint32_t vm_arena_end(void) { return arena_end; }

void vm_put(const void* bytes, uint32_t length) {
  if (length > vm_io_in_capacity()) vm_fail("vm_put: more than IO_IN_CAPACITY", NULL);
  if (length) memcpy(vm_bytes(vm_io_in(), length), bytes, length);
}

void vm_check_memory(void) {
  wasm_rt_memory_t* memory = Z_rabbitZ_memory(&vm_module);
  if (memory->pages != 4 || memory->size != 4 * 65536) vm_fail("memory.size changed", NULL);
}

void vm_check_status(void) {
  uint32_t status = Z_rabbitZ_rabbit_status(&vm_module), state = Z_rabbitZ_rabbit_state(&vm_module);
  if (status > 6) vm_fail("rabbit_status() out of range", NULL);
  if (state > 8) vm_fail("rabbit_state() out of range", NULL);
}

const uint8_t* vm_find(const uint8_t* haystack, size_t length, const char* needle) {
  size_t n = strlen(needle);
  if (n == 0 || n > length) return NULL;
  for (size_t i = 0; i + n <= length; i++) {
    if (haystack[i] == (uint8_t)needle[0] && memcmp(haystack + i, needle, n) == 0) return haystack + i;
  }
  return NULL;
}

size_t vm_base64(const uint8_t* bytes, size_t length, char* out) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t n = 0;
  for (size_t i = 0; i < length; i += 3) {
    uint32_t v = (uint32_t)bytes[i] << 16 | (i + 1 < length ? (uint32_t)bytes[i + 1] << 8 : 0) | (i + 2 < length ? bytes[i + 2] : 0);
    out[n++] = alphabet[v >> 18 & 63];
    out[n++] = alphabet[v >> 12 & 63];
    out[n++] = i + 1 < length ? alphabet[v >> 6 & 63] : '=';
    out[n++] = i + 2 < length ? alphabet[v & 63] : '=';
  }
  return n;
}

size_t vm_xml_text(const uint8_t* bytes, size_t length, char* out) {
  size_t n = 0;
  for (size_t i = 0; i < length; i++) {
    uint8_t c = bytes[i];
    if ((c >= 0x20 && c < 0x7f && c != '<' && c != '&' && c != '>') || c == '\t' || c == '\n' || c == '\r') out[n++] = (char)c;
  }
  return n;
}

/* ---------------------------------------------------------------------------------------------------------------- */
/* The imports (docs/ABI.md, "Imports").                                                                             */

void Z_vmZ_uart_write(struct Z_vm_instance_t* v, u32 pointer, u32 length) {
  const uint8_t* bytes = vm_bytes(pointer, length);
  v->uart_bytes += length;
  static int echo = -1;
  if (echo < 0) echo = getenv("FUZZ_UART") != NULL;
  if (echo) fwrite(bytes, 1, length, stderr);
}

u32 Z_vmZ_time_ms(struct Z_vm_instance_t* v) { return v->clock & 0x7fffffffu; }

u32 Z_vmZ_rand(struct Z_vm_instance_t* v) {
  v->rng = v->rng * 0x1234567u + 11u;
  return (v->rng >> 8) & 0xffffu;
}

void Z_vmZ_srand(struct Z_vm_instance_t* v, u32 seed) { v->rng = seed; }

void Z_vmZ_random_bytes(struct Z_vm_instance_t* v, u32 pointer, u32 length) {
  /* Not secure: the pattern of port/host_posix.c's call scripts, so that the SCRAM nonce is known (fuzz/README.md). */
  uint8_t* bytes = vm_bytes(pointer, length);
  for (uint32_t i = 0; i < length; i++) bytes[i] = (uint8_t)(i * 37 + 11);
  (void)v;
}

void Z_vmZ_mac_address(struct Z_vm_instance_t* v, u32 pointer) { memcpy(vm_bytes(pointer, 6), v->mac, 6); }

static uint32_t flash_clamp(uint32_t offset) {
  int32_t o = (int32_t)offset;
  return o < 0 ? 0 : o > VM_FLASH_SIZE ? VM_FLASH_SIZE : (uint32_t)o;
}

void Z_vmZ_flash_read(struct Z_vm_instance_t* v, u32 offset, u32 pointer, u32 length) {
  uint8_t* target = vm_bytes(pointer, length);
  uint32_t start = flash_clamp(offset), available = VM_FLASH_SIZE - start;
  memset(target, 0xff, length);
  memcpy(target, v->flash + start, length < available ? length : available);
}

void Z_vmZ_flash_write(struct Z_vm_instance_t* v, u32 offset, u32 pointer, u32 length) {
  const uint8_t* source = vm_bytes(pointer, length);
  uint32_t start = flash_clamp(offset), room = VM_FLASH_SIZE - start;
  memcpy(v->flash + start, source, length < room ? length : room);
}

u32 Z_vmZ_tcp_open(struct Z_vm_instance_t* v, u32 address, u32 address_length, u32 port) {
  const uint8_t* text = vm_bytes(address, address_length);
  if (address_length > VM_NAME_CAPACITY) vm_fail("tcp_open: address longer than any name", NULL);
  if (v->socket >= 0) vm_fail("tcp_open with a connection still open", NULL);
  memcpy(v->address, text, address_length);
  v->address_length = address_length;
  v->port = port;
  v->socket = (int32_t)v->next_id++;
  v->established = 0;
  v->authenticated = 0;
  v->opens++;
  return (u32)v->socket;
}

u32 Z_vmZ_tcp_send(struct Z_vm_instance_t* v, u32 handle, u32 pointer, u32 length, u32 start) {
  const uint8_t* bytes = vm_bytes(pointer, length);
  v->sends++;
  if ((int32_t)start < 0 || start > length) vm_fail("tcp_send: start outside [0, length]", NULL);
  if ((int32_t)handle != v->socket || !v->established) return (u32)-1;
  uint32_t count = length - start;
  uint32_t room = VM_SENT_CAPACITY - v->sent_length;
  if (count > room) {
    /* Keep the newest bytes: the server reads what came since it last looked. */
    uint32_t drop = count - room < v->sent_length ? count - room : v->sent_length;
    memmove(v->sent, v->sent + drop, v->sent_length - drop);
    v->sent_length -= drop;
    v->sent_read = v->sent_read > drop ? v->sent_read - drop : 0;
    room = VM_SENT_CAPACITY - v->sent_length;
  }
  uint32_t take = count < room ? count : room;
  memcpy(v->sent + v->sent_length, bytes + start, take);
  v->sent_length += take;
  return start + take;
}

void Z_vmZ_tcp_close(struct Z_vm_instance_t* v, u32 handle) {
  if ((int32_t)handle == v->socket) {
    v->socket = -1;
    v->established = 0;
    v->sent_read = v->sent_length;
  }
  v->closes++;
}

u32 Z_vmZ_http_get(struct Z_vm_instance_t* v, u32 url, u32 url_length, u32 want_body) {
  vm_bytes(url, url_length);
  uint32_t id = v->next_id++;
  if (want_body) v->http_request = (int32_t)id;
  v->http_requests++;
  return id;
}

u32 Z_vmZ_dns_query(struct Z_vm_instance_t* v, u32 type, u32 name, u32 name_length) {
  const uint8_t* text = vm_bytes(name, name_length);
  if (type != 1 && type != 33) vm_fail("dns_query: type neither 1 (A) nor 33 (SRV)", NULL);
  if (name_length > VM_NAME_CAPACITY) vm_fail("dns_query: name longer than any name", NULL);
  memcpy(v->dns_name, text, name_length);
  v->dns_name_length = name_length;
  v->dns_type = type;
  v->dns_request = (int32_t)v->next_id++;
  v->dns_queries++;
  return (u32)v->dns_request;
}

void Z_vmZ_led_set(struct Z_vm_instance_t* v, u32 index, u32 rgb) {
  (void)v;
  if (index > 4) vm_fail("led_set: no such LED", NULL);
  if (rgb > 0xffffff) vm_fail("led_set: colour wider than 0xRRGGBB", NULL);
}

void Z_vmZ_reboot(struct Z_vm_instance_t* v) { v->reboot_asked = 1; }

void Z_vmZ_report(struct Z_vm_instance_t* v, u32 kind, u32 pointer, u32 length) {
  const uint8_t* bytes = vm_bytes(pointer, length);
  if (kind < 1 || kind >= VM_REPORT_KINDS) vm_fail("report: unknown kind", NULL);
  v->reports[kind]++;
  if (kind == 4) {
    if (length < 1) vm_fail("report: a frame without its type byte", NULL);
    if (v->frames_length + 4 + length <= VM_FRAMES_CAPACITY) {
      memcpy(v->frames + v->frames_length, &length, 4);
      memcpy(v->frames + v->frames_length + 4, bytes, length);
      v->frames_length += 4 + length;
    }
  }
  if (kind == 8 && length <= sizeof v->resource) {
    memcpy(v->resource, bytes, length);
    v->resource_length = length;
  }
}

/** wasm-rt's trap handler (-DWASM_RT_TRAP_HANDLER=port_trap, port/trap.h): a trap is a bug in the module. */
void port_trap(wasm_rt_trap_t code) { vm_fail("the module trapped", wasm_rt_strerror(code)); }

/* ---------------------------------------------------------------------------------------------------------------- */
/* Instance and snapshots.                                                                                           */

void vm_start(void) {
  static const uint8_t mac[6] = {0xf8, 0x1e, 0xdf, 0xee, 0x27, 0xc1};
  static const char url[] = "almacska:3000/vl";
  wasm_rt_init();
  Z_rabbit_init_module();
  memset(&vm, 0, sizeof vm);
  memcpy(vm.mac, mac, 6);
  memset(vm.flash, 0xff, sizeof vm.flash);
  memcpy(vm.flash, url, sizeof url - 1);
  vm.flash[208] = 'd';
  memcpy(vm.flash + 209, VM_PASSWORD, 12);
  vm.next_id = 1;
  vm.socket = -1;
  vm.http_request = -1;
  vm.dns_request = -1;
  Z_rabbit_instantiate(&vm_module, &vm); /* the release build imports no env.abort (docs/ABI.md) */
  arena_end = Z_rabbitZ_arena_end(&vm_module);
  if (arena_end > Z_rabbitZ_memory(&vm_module)->size) vm_fail("arena_end() past the memory", NULL);
  vm_check_memory();
}

struct vm_snapshot {
  Z_rabbit_instance_t module;
  struct Z_vm_instance_t host;
  uint8_t memory[];
};

vm_snapshot* vm_save(void) {
  wasm_rt_memory_t* memory = Z_rabbitZ_memory(&vm_module);
  vm_snapshot* s = malloc(sizeof *s + memory->size);
  if (!s) vm_fail("out of memory", NULL);
  s->module = vm_module;
  s->host = vm;
  memcpy(s->memory, memory->data, memory->size);
  return s;
}

void vm_restore(const vm_snapshot* s) {
  /* The globals and the memory descriptor come back together; the memory's buffer is the same one (it never grows). */
  vm_module = s->module;
  vm = s->host;
  wasm_rt_memory_t* memory = Z_rabbitZ_memory(&vm_module);
  memcpy(memory->data, s->memory, memory->size);
}

/* ---------------------------------------------------------------------------------------------------------------- */
/* Driving the rabbit.                                                                                               */

void vm_tick(void) {
  vm.clock += 50;
  Z_rabbitZ_tick(&vm_module);
}

void vm_receive(const void* bytes, uint32_t length) {
  const uint8_t* p = bytes;
  uint32_t capacity = vm_io_in_capacity();
  do {
    if (vm.socket < 0 || vm.reboot_asked) return;
    uint32_t piece = length < capacity ? length : capacity;
    vm_put(p, piece);
    Z_rabbitZ_tcp_event(&vm_module, (u32)vm.socket, 1, piece);
    p += piece;
    length -= piece;
  } while (length > 0);
}

void vm_receive_text(const char* text) { vm_receive(text, (uint32_t)strlen(text)); }

const uint8_t* vm_unread(uint32_t* length) {
  const uint8_t* start = vm.sent + vm.sent_read;
  *length = vm.sent_length - vm.sent_read;
  vm.sent_read = vm.sent_length;
  return start;
}

/* The lab's happy path (test/scripts.ts): its server's stanzas. */
static const char LOCATE[] = "ping almacska:3000\nbroad broad.almacska\nxmpp_domain " VM_DOMAIN "\n";
static const char HEADER[] =
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
    "id='2173750751' from='" VM_DOMAIN "' version='1.0' xml:lang='en'>";
static const char PRE_AUTH[] =
    "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>DIGEST-MD5</mechanism>"
    "<mechanism>PLAIN</mechanism></mechanisms><register xmlns='http://jabber.org/features/iq-register'/>"
    "</stream:features>";
static const char POST_AUTH[] =
    "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><required/></bind><unbind "
    "xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/>"
    "</stream:features>";
/* nonce="1804289383",qop="auth",charset=utf-8,algorithm=md5-sess */
static const char CHALLENGE[] =
    "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
    "bm9uY2U9IjE4MDQyODkzODMiLHFvcD0iYXV0aCIsY2hhcnNldD11dGYtOCxhbGdvcml0aG09bWQ1LXNlc3M=</challenge>";
static const char SUCCESS[] = "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>";
static const char SOURCES[] =
    "<iq from='net.violet.platform@" VM_DOMAIN "/sources' to='" VM_JID "/boot' id='3' type='result'><query "
    "xmlns='violet:iq:sources'><packet xmlns='violet:packet' format='1.0' ttl='604800'>fwQAAAp////+BAAFAAgACwAAAQD/"
    "</packet></query></iq>";

static void answer_requests(void) {
  if (vm.http_request >= 0) {
    int32_t request = vm.http_request;
    vm.http_request = -1;
    vm_put(LOCATE, sizeof LOCATE - 1);
    Z_rabbitZ_http_done(&vm_module, (u32)request, 200, sizeof LOCATE - 1);
  }
  if (vm.dns_request >= 0) {
    int32_t request = vm.dns_request;
    vm.dns_request = -1;
    if (vm.dns_type == 33) {
      Z_rabbitZ_dns_done(&vm_module, (u32)request, 0, 0); /* no SRV records: the domain on 5222 */
    } else {
      vm_put(VM_ADDRESS, sizeof VM_ADDRESS - 1);
      Z_rabbitZ_dns_done(&vm_module, (u32)request, 1, sizeof VM_ADDRESS - 1);
    }
  }
  if (vm.socket >= 0 && !vm.established && !vm.reboot_asked) {
    vm.established = 1;
    Z_rabbitZ_tcp_event(&vm_module, (u32)vm.socket, 0, 0);
  }
}

/** The server's answer to what the rabbit sent; 1 if it is where `stop` is. */
static int react(const uint8_t* out, uint32_t n, int stop) {
  char reply[1024];
  if (vm_find(out, n, "<stream:stream")) {
    snprintf(reply, sizeof reply, "%s%s", HEADER, vm.authenticated ? POST_AUTH : PRE_AUTH);
    vm_receive_text(reply);
  } else if (vm_find(out, n, "<auth ")) {
    if (stop == VM_STOP_AUTH) return 1;
    if (vm_find(out, n, "'PLAIN'")) {
      vm.authenticated = 1;
      vm_receive_text(SUCCESS);
    } else {
      vm_receive_text(CHALLENGE);
    }
  } else if (vm_find(out, n, "<response")) {
    vm.authenticated = 1;
    vm_receive_text(SUCCESS);
  } else if (vm_find(out, n, "<bind ")) {
    const uint8_t* start = vm_find(out, n, "<resource>");
    const uint8_t* end = start ? vm_find(start, n - (size_t)(start - out), "</resource>") : NULL;
    int length = start && end ? (int)(end - start - 10) : 0;
    snprintf(reply, sizeof reply,
             "<iq id='1' type='result'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>" VM_JID "/%.*s</jid></bind></iq>",
             length, start ? (const char*)start + 10 : "");
    vm_receive_text(reply);
  } else if (vm_find(out, n, "<session ")) {
    vm_receive_text("<iq type='result' from='" VM_DOMAIN "' id='2'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>");
  } else if (vm_find(out, n, "violet:iq:sources")) {
    if (stop == VM_STOP_SOURCES) return 1;
    vm_receive_text(SOURCES);
  } else if (vm_find(out, n, "<presence")) {
    vm_receive_text("<presence from='" VM_JID "/idle' to='" VM_JID "/idle' id='6'/>");
  } else if (vm_find(out, n, "<unbind ")) {
    vm_receive_text("<iq id='7' type='result'/>");
  }
  return 0;
}

/** One step of the server: answers, or a tick when there is nothing to answer. 1 when `stop` is reached. */
static int serve_step(int stop) {
  answer_requests();
  uint32_t n;
  const uint8_t* out = vm_unread(&n);
  if (n > 0) return react(out, n, stop);
  if (stop == VM_STOP_FREE && Z_rabbitZ_rabbit_state(&vm_module) == 8 && Z_rabbitZ_rabbit_status(&vm_module) == 4 &&
      vm.reports[3] > 0) {
    return 1;
  }
  if (!vm.reboot_asked) vm_tick();
  return 0;
}

void vm_serve(vm_stop stop) {
  Z_rabbitZ_boot(&vm_module);
  for (int step = 0; step < 2000; step++) {
    if (vm.reboot_asked) vm_fail("vm_serve: the rabbit asked to reboot during the setup", NULL);
    if (serve_step((int)stop)) return;
  }
  vm_fail("vm_serve: the rabbit did not get where the target needs it (FUZZ_UART=1 shows its log)", NULL);
}

void vm_serve_steps(int steps) {
  for (int step = 0; step < steps && !vm.reboot_asked; step++) serve_step(-1);
}
