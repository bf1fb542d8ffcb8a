/*
 * The rabbit's POSIX host: the module (build/rabbit.wasm, through wasm2c) with every import of docs/ABI.md, on a
 * virtual clock. It is the C counterpart of the Node host's virtual mode (host/rabbit.ts with host/vm/), written
 * against nothing but open/read/write/close/_exit, malloc and the mem* functions, so that the same file builds for
 * Linux and, with port/arm/ supplying those, for a bare ARMv4T target (port/README.md).
 *
 *   rabbit-port replay SCRIPT TRANSCRIPT [-u]   plays a replay script (port/README.md, "Replay script"): boots the
 *                                               module, ticks it every 50 ms of virtual time, delivers the script's
 *                                               TCP/HTTP/DNS events when they are due, reboots it when it asks, and
 *                                               writes every export and import call to TRANSCRIPT ("-": stdout);
 *                                               -u copies the debug UART to stderr
 *   rabbit-port calls SCRIPT OUTPUT             runs a call script (port/README.md, "Call scripts")
 *
 * Exit status: 0 done (calls: every expectation held), 1 the script and the module went out of step (replay) or an
 * expectation failed (calls), 2 bad usage or a bad script, 3 the module aborted (env.abort: debug builds) or trapped.
 *
 * Any build of the module: the full one (build/rabbit.wasm: replays and call scripts) or the device one
 * (build/rabbit.device.wasm: replays; it has no test points, so a call script naming one stops with status 2).
 */

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "port.h"
#include "trap.h"
#include "wasm-rt.h"

#define FLASH_SIZE 4096
#define MAX_CONNECTIONS 16
#define MAX_REQUESTS 32
#define MAX_WORDS 40

/* ---------------------------------------------------------------------------------------------------------------- */
/* Output: a buffered file descriptor, and the number and byte formats shared with port/record.mjs.                 */

static int out_fd = 1;
static size_t out_length;
static char out_buffer[1 << 16];

static void write_all(int fd, const char* data, size_t length) {
  while (length > 0) {
    ssize_t written = write(fd, data, length);
    if (written <= 0) _exit(2);
    data += written;
    length -= (size_t)written;
  }
}

static void out_flush(void) {
  write_all(out_fd, out_buffer, out_length);
  out_length = 0;
}

static void out_bytes(const char* data, size_t length) {
  while (length > 0) {
    size_t room = sizeof out_buffer - out_length;
    size_t piece = length < room ? length : room;
    memcpy(out_buffer + out_length, data, piece);
    out_length += piece;
    data += piece;
    length -= piece;
    if (out_length == sizeof out_buffer) out_flush();
  }
}

static void out_str(const char* text) { out_bytes(text, strlen(text)); }

static void out_char(char c) { out_bytes(&c, 1); }

static char* format_u32(char* end, uint32_t value) {
  *--end = 0;
  do {
    *--end = (char)('0' + value % 10);
    value /= 10;
  } while (value != 0);
  return end;
}

/** An i32 as the Node side prints `value | 0`: signed decimal. */
static void out_int(int32_t value) {
  char buffer[16];
  if (value < 0) out_char('-');
  out_str(format_u32(buffer + sizeof buffer, value < 0 ? 0u - (uint32_t)value : (uint32_t)value));
}

static const char HEX[] = "0123456789abcdef";

static void out_hex(const uint8_t* bytes, uint32_t length) {
  for (uint32_t i = 0; i < length; i++) {
    char pair[2] = {HEX[bytes[i] >> 4], HEX[bytes[i] & 15]};
    out_bytes(pair, 2);
  }
}

/** Bytes as a quoted string: printable ASCII as is, anything else (and " and \) as \xHH. */
static void out_quoted(const uint8_t* bytes, uint32_t length) {
  out_char('"');
  for (uint32_t i = 0; i < length; i++) {
    uint8_t b = bytes[i];
    if (b >= 0x20 && b < 0x7f && b != '"' && b != '\\') {
      out_char((char)b);
    } else {
      char escape[4] = {'\\', 'x', HEX[b >> 4], HEX[b & 15]};
      out_bytes(escape, 4);
    }
  }
  out_char('"');
}

static void say(int fd, const char* a, const char* b, const char* c) {
  write_all(fd, a, strlen(a));
  if (b) write_all(fd, b, strlen(b));
  if (c) write_all(fd, c, strlen(c));
}

__attribute__((noreturn)) static void fail(int status, const char* what, const char* detail) {
  out_flush();
  say(2, "rabbit-port: ", what, NULL);
  if (detail) say(2, ": ", detail, NULL);
  say(2, "\n", NULL, NULL);
  _exit(status);
}

/* ---------------------------------------------------------------------------------------------------------------- */
/* Input: whole files, split into lines and words in place.                                                           */

static char* read_file(const char* path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) fail(2, "cannot open", path);
  size_t capacity = 1 << 16, length = 0;
  char* data = malloc(capacity + 1);
  for (;;) {
    if (data == NULL) fail(2, "out of memory reading", path);
    ssize_t got = read(fd, data + length, capacity - length);
    if (got < 0) fail(2, "cannot read", path);
    if (got == 0) break;
    length += (size_t)got;
    if (length == capacity) {
      capacity *= 2;
      data = realloc(data, capacity + 1);
    }
  }
  close(fd);
  data[length] = 0;
  return data;
}

/** The next line of `*cursor` (NUL-terminated in place), or NULL at the end. */
static char* next_line(char** cursor) {
  char* line = *cursor;
  if (*line == 0) return NULL;
  char* end = strchr(line, '\n');
  if (end) {
    *end = 0;
    *cursor = end + 1;
  } else {
    *cursor = line + strlen(line);
  }
  return line;
}

static int split(char* line, char** words, int max) {
  int count = 0;
  while (*line) {
    if (count == max) return -1;
    words[count++] = line;
    char* space = strchr(line, ' ');
    if (!space) break;
    *space = 0;
    line = space + 1;
  }
  return count;
}

/** A decimal integer, wrapped to 32 bits as the Node side's `Number(word) | 0`; 0 if it is not one. */
static int parse_int(const char* word, uint32_t* value) {
  int negative = *word == '-';
  const char* p = word + negative;
  if (*p == 0) return 0;
  uint32_t v = 0;
  for (; *p; p++) {
    if (*p < '0' || *p > '9') return 0;
    v = v * 10 + (uint32_t)(*p - '0');
  }
  *value = negative ? 0u - v : v;
  return 1;
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/** Decodes hex in place (the word becomes its bytes); "-" is empty. Returns the length, or -1. */
static int32_t unhex(char* word) {
  if (strcmp(word, "-") == 0) return 0;
  size_t length = strlen(word);
  if (length % 2) return -1;
  for (size_t i = 0; i < length / 2; i++) {
    int high = hex_digit(word[2 * i]), low = hex_digit(word[2 * i + 1]);
    if (high < 0 || low < 0) return -1;
    word[i] = (char)(high << 4 | low);
  }
  return (int32_t)(length / 2);
}

/* ---------------------------------------------------------------------------------------------------------------- */
/* The VM: everything the module's imports see. One rabbit per process.                                              */

typedef struct {
  uint32_t handle;
  int established;
} connection;

typedef struct {
  uint32_t id;
  int kind; /* 'h' HTTP answer awaited, 'd' DNS */
} request;

typedef struct {
  uint32_t time, boot, ticks;
  char** words;
  int count;
  int line;
} scheduled;

struct Z_vm_instance_t {
  Z_rabbit_instance_t module;
  int live;
  /* replay: every import call goes to the transcript; calls: only the UART does */
  int replaying;
  int uart_to_stderr;
  /* the clock: virtual milliseconds since the run began; time_ms is now - boot_time */
  uint32_t now, boot_time, clock;
  uint32_t boots, ticks;
  uint32_t tick_ms, reboot_delay_ms;
  int reboot_asked, rebooting;
  uint32_t reboot_at;
  /* the VM generator (spec §2.1) and the replay's fixed boot state (--rng-state) */
  uint32_t rng;
  int rng_boot_state_set, boot_seed_pending;
  uint32_t rng_boot_state;
  uint8_t mac[6];
  uint8_t flash[FLASH_SIZE];
  /* handles and request numbers count up over the whole run, as in the Node host */
  uint32_t next_handle, next_request;
  connection connections[MAX_CONNECTIONS];
  int connection_count;
  request requests[MAX_REQUESTS];
  int request_count;
  /* secure random bytes the replay script supplies, in order */
  char** random_bytes;
  int random_count, random_next;
};

static struct Z_vm_instance_t vm;

#if PORT_ENV_ABORT
/* Only a debug build imports env.abort (docs/ABI.md): its failed assertions. */
struct Z_env_instance_t {
  struct Z_vm_instance_t* vm;
};

static struct Z_env_instance_t env = {&vm};
#define INSTANTIATE() Z_rabbit_instantiate(&vm.module, &env, &vm)
#else
#define INSTANTIATE() Z_rabbit_instantiate(&vm.module, &vm)
#endif

/** The module's memory at [pointer, pointer + length); a range outside it is a bug in the module. */
static uint8_t* memory_at(struct Z_vm_instance_t* v, uint32_t pointer, uint32_t length) {
  wasm_rt_memory_t* memory = Z_rabbitZ_memory(&v->module);
  if ((int32_t)length < 0 || pointer > memory->size || length > memory->size - pointer) {
    fail(3, "the module passed a range outside its memory", NULL);
  }
  return memory->data + pointer;
}

static uint32_t io_in(void) { return *Z_rabbitZ_IO_IN(&vm.module); }
static uint32_t io_in_capacity(void) { return *Z_rabbitZ_IO_IN_CAPACITY(&vm.module); }
#if PORT_IO_OUT
static uint32_t io_out(void) { return *Z_rabbitZ_IO_OUT(&vm.module); }
static uint32_t io_out_capacity(void) { return *Z_rabbitZ_IO_OUT_CAPACITY(&vm.module); }
#else
/* No output buffer (the device build): a call script's out+N has nowhere to point. */
static uint32_t io_out(void) { return 0; }
static uint32_t io_out_capacity(void) { return 0; }
#endif

/** Starts a transcript line: "TIME BOOT TICKS " (virtual ms since the run began, boots so far, ticks this boot). */
static void line_start(void) {
  char buffer[16];
  out_str(format_u32(buffer + sizeof buffer, vm.now));
  out_char(' ');
  out_str(format_u32(buffer + sizeof buffer, vm.boots));
  out_char(' ');
  out_str(format_u32(buffer + sizeof buffer, vm.ticks));
  out_char(' ');
}

/** "< NAME" for an import call; the caller adds the rest and the newline. */
static int import_line(const char* name) {
  if (!vm.replaying) return 0;
  line_start();
  out_str("< ");
  out_str(name);
  return 1;
}

static void arrow(uint32_t result) {
  out_str(" -> ");
  out_int((int32_t)result);
}

static connection* find_connection(uint32_t handle) {
  for (int i = 0; i < vm.connection_count; i++) {
    if (vm.connections[i].handle == handle) return &vm.connections[i];
  }
  return NULL;
}

static void drop_connection(connection* c) { *c = vm.connections[--vm.connection_count]; }

static void not_in_calls(const char* name) {
  if (!vm.replaying) fail(2, "a call script made the module call", name);
}

/* ---------------------------------------------------------------------------------------------------------------- */
/* The imports (docs/ABI.md, "Imports"). Each does what the VM did, then writes its transcript line.                */

void Z_vmZ_uart_write(struct Z_vm_instance_t* v, u32 pointer, u32 length) {
  const uint8_t* bytes = memory_at(v, pointer, length);
  if (v->uart_to_stderr) write_all(2, (const char*)bytes, length);
  if (!v->replaying) {
    out_str("uart ");
    out_quoted(bytes, length);
    out_char('\n');
  } else if (import_line("uart_write")) {
    out_char(' ');
    out_quoted(bytes, length);
    out_char('\n');
  }
}

u32 Z_vmZ_time_ms(struct Z_vm_instance_t* v) {
  uint32_t ms = v->replaying ? (v->now - v->boot_time) & 0x7fffffffu : v->clock;
  if (import_line("time_ms")) {
    arrow(ms);
    out_char('\n');
  }
  return ms;
}

u32 Z_vmZ_rand(struct Z_vm_instance_t* v) {
  v->rng = v->rng * 0x1234567u + 11u;
  uint32_t value = (v->rng >> 8) & 0xffffu;
  if (import_line("rand")) {
    arrow(value);
    out_char('\n');
  }
  return value;
}

void Z_vmZ_srand(struct Z_vm_instance_t* v, u32 seed) {
  /* With a fixed boot state, the program's own srand(time_ms) at boot is the one call that does not count. */
  if (v->boot_seed_pending) {
    v->boot_seed_pending = 0;
  } else {
    v->rng = seed;
  }
  if (import_line("srand")) {
    out_char(' ');
    out_int((int32_t)seed);
    out_char('\n');
  }
}

void Z_vmZ_random_bytes(struct Z_vm_instance_t* v, u32 pointer, u32 length) {
  uint8_t* bytes = memory_at(v, pointer, length);
  if (!v->replaying) {
    /* Call scripts: the pattern test/vectors.test.ts gives its core. */
    for (uint32_t i = 0; i < length; i++) bytes[i] = (uint8_t)(i * 37 + 11);
    return;
  }
  /* The replay script's bytes, in order (they came from the Node host's source); then the system's. */
  if (v->random_next < v->random_count && strlen(v->random_bytes[v->random_next]) == 2 * (size_t)length) {
    char* word = v->random_bytes[v->random_next++];
    for (uint32_t i = 0; i < length; i++) bytes[i] = (uint8_t)(hex_digit(word[2 * i]) << 4 | hex_digit(word[2 * i + 1]));
  } else {
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd < 0 || read(fd, bytes, length) != (ssize_t)length) fail(3, "no secure random bytes", NULL);
    close(fd);
  }
  if (import_line("random_bytes")) {
    out_char(' ');
    out_int((int32_t)length);
    out_str(" -> ");
    out_hex(bytes, length);
    out_char('\n');
  }
}

void Z_vmZ_mac_address(struct Z_vm_instance_t* v, u32 pointer) {
  memcpy(memory_at(v, pointer, 6), v->mac, 6);
  if (import_line("mac_address")) {
    out_str(" -> ");
    out_hex(v->mac, 6);
    out_char('\n');
  }
}

static uint32_t flash_clamp(uint32_t offset) {
  int32_t o = (int32_t)offset;
  return o < 0 ? 0 : o > FLASH_SIZE ? FLASH_SIZE : (uint32_t)o;
}

void Z_vmZ_flash_read(struct Z_vm_instance_t* v, u32 offset, u32 pointer, u32 length) {
  uint8_t* target = memory_at(v, pointer, length);
  uint32_t start = flash_clamp(offset);
  uint32_t available = FLASH_SIZE - start;
  memset(target, 0xff, length);
  memcpy(target, v->flash + start, length < available ? length : available);
  if (import_line("flash_read")) {
    out_char(' ');
    out_int((int32_t)offset);
    out_char(' ');
    out_int((int32_t)length);
    out_str(" -> ");
    out_hex(target, length);
    out_char('\n');
  }
}

void Z_vmZ_flash_write(struct Z_vm_instance_t* v, u32 offset, u32 pointer, u32 length) {
  const uint8_t* source = memory_at(v, pointer, length);
  uint32_t start = flash_clamp(offset);
  uint32_t room = FLASH_SIZE - start;
  /* The device reprograms the whole sector; a file-backed host writes a temporary file and renames it. */
  if (v->replaying) memcpy(v->flash + start, source, length < room ? length : room);
  if (import_line("flash_write")) {
    out_char(' ');
    out_int((int32_t)offset);
    out_char(' ');
    out_quoted(source, length);
    out_char('\n');
  }
}

u32 Z_vmZ_tcp_open(struct Z_vm_instance_t* v, u32 address, u32 address_length, u32 port) {
  const uint8_t* text = memory_at(v, address, address_length);
  not_in_calls("tcp_open");
  uint32_t handle = v->next_handle++;
  if (v->connection_count == MAX_CONNECTIONS) fail(3, "too many connections", NULL);
  v->connections[v->connection_count++] = (connection){handle, 0};
  if (import_line("tcp_open")) {
    out_char(' ');
    out_quoted(text, address_length);
    out_char(' ');
    out_int((int32_t)port);
    arrow(handle);
    out_char('\n');
  }
  return handle;
}

u32 Z_vmZ_tcp_send(struct Z_vm_instance_t* v, u32 handle, u32 pointer, u32 length, u32 start) {
  const uint8_t* bytes = memory_at(v, pointer, length);
  not_in_calls("tcp_send");
  uint32_t next;
  if ((int32_t)start >= (int32_t)length) {
    next = length;
  } else {
    connection* c = find_connection(handle);
    /* The replay's peer takes every byte of an established connection (a device may take 1024 at most). */
    next = c && c->established ? length : (uint32_t)-1;
  }
  if (import_line("tcp_send")) {
    out_char(' ');
    out_int((int32_t)handle);
    out_char(' ');
    out_int((int32_t)length);
    out_char(' ');
    out_int((int32_t)start);
    out_char(' ');
    if ((int32_t)start < (int32_t)length) {
      out_quoted(bytes + start, length - start);
    } else {
      out_quoted(bytes, 0);
    }
    arrow(next);
    out_char('\n');
  }
  return next;
}

void Z_vmZ_tcp_close(struct Z_vm_instance_t* v, u32 handle) {
  not_in_calls("tcp_close");
  connection* c = find_connection(handle);
  if (c) drop_connection(c);
  (void)v;
  if (import_line("tcp_close")) {
    out_char(' ');
    out_int((int32_t)handle);
    out_char('\n');
  }
}

static uint32_t new_request(int kind) {
  uint32_t id = vm.next_request++;
  if (kind) {
    if (vm.request_count == MAX_REQUESTS) fail(3, "too many requests", NULL);
    vm.requests[vm.request_count++] = (request){id, kind};
  }
  return id;
}

u32 Z_vmZ_http_get(struct Z_vm_instance_t* v, u32 url, u32 url_length, u32 want_body) {
  const uint8_t* text = memory_at(v, url, url_length);
  not_in_calls("http_get");
  uint32_t id = new_request(want_body ? 'h' : 0);
  if (import_line("http_get")) {
    out_char(' ');
    out_quoted(text, url_length);
    out_char(' ');
    out_int((int32_t)want_body);
    arrow(id);
    out_char('\n');
  }
  return id;
}

u32 Z_vmZ_dns_query(struct Z_vm_instance_t* v, u32 type, u32 name, u32 name_length) {
  const uint8_t* text = memory_at(v, name, name_length);
  not_in_calls("dns_query");
  uint32_t id = new_request('d');
  if (import_line("dns_query")) {
    out_char(' ');
    out_int((int32_t)type);
    out_char(' ');
    out_quoted(text, name_length);
    arrow(id);
    out_char('\n');
  }
  return id;
}

void Z_vmZ_led_set(struct Z_vm_instance_t* v, u32 index, u32 rgb) {
  (void)v;
  if (import_line("led_set")) {
    out_char(' ');
    out_int((int32_t)index);
    out_char(' ');
    out_int((int32_t)rgb);
    out_char('\n');
  }
}

void Z_vmZ_reboot(struct Z_vm_instance_t* v) {
  not_in_calls("reboot");
  /* Done when the current export call returns (docs/ABI.md, "Lifecycle" 6). */
  v->reboot_asked = 1;
  if (import_line("reboot")) out_char('\n');
}

void Z_vmZ_report(struct Z_vm_instance_t* v, u32 kind, u32 pointer, u32 length) {
  const uint8_t* bytes = memory_at(v, pointer, length);
  if (import_line("report")) {
    out_char(' ');
    out_int((int32_t)kind);
    out_char(' ');
    out_quoted(bytes, length);
    out_char('\n');
  }
}

#if PORT_ENV_ABORT
/** An AssemblyScript string (UTF-16LE, its byte length at pointer - 4) to stderr, as ASCII. */
static void say_string(struct Z_vm_instance_t* v, u32 pointer) {
  if (pointer < 4) return;
  const uint8_t* size = memory_at(v, pointer - 4, 4);
  uint32_t length = (uint32_t)size[0] | (uint32_t)size[1] << 8 | (uint32_t)size[2] << 16 | (uint32_t)size[3] << 24;
  const uint8_t* text = memory_at(v, pointer, length);
  for (uint32_t i = 0; i + 1 < length; i += 2) {
    char c = text[i + 1] == 0 && text[i] >= 0x20 && text[i] < 0x7f ? (char)text[i] : '?';
    write_all(2, &c, 1);
  }
}

void Z_envZ_abort(struct Z_env_instance_t* e, u32 message, u32 file, u32 line, u32 column) {
  char buffer[16];
  out_flush();
  say(2, "rabbit-port: the module aborted: ", NULL, NULL);
  say_string(e->vm, message);
  say(2, " at ", NULL, NULL);
  say_string(e->vm, file);
  say(2, ":", format_u32(buffer + sizeof buffer, line), NULL);
  say(2, ":", format_u32(buffer + sizeof buffer, column), "\n");
  _exit(3);
}
#endif

/** wasm-rt's trap handler (compiled in with -DWASM_RT_TRAP_HANDLER=port_trap): a trap is a bug in the module. */
void port_trap(wasm_rt_trap_t code) {
  fail(3, "the module trapped", wasm_rt_strerror(code));
}

/* ---------------------------------------------------------------------------------------------------------------- */
/* Calling exports.                                                                                                  */

static const port_export* find_export(const char* name) {
  for (const port_export* e = port_exports; e->name; e++) {
    if (strcmp(e->name, name) == 0) return e;
  }
  return NULL;
}

/** "> NAME ARGS [PAYLOAD]" before an export call. */
static void export_line(const char* name, int count, const uint32_t* args, const uint8_t* payload, uint32_t length) {
  line_start();
  out_str("> ");
  out_str(name);
  for (int i = 0; i < count; i++) {
    out_char(' ');
    out_int((int32_t)args[i]);
  }
  if (payload) {
    out_char(' ');
    out_quoted(payload, length);
  }
  out_char('\n');
}

static void result_line(const char* name, uint32_t result) {
  line_start();
  out_str("= ");
  out_str(name);
  out_char(' ');
  out_int((int32_t)result);
  out_char('\n');
}

/** An export by name with i32 arguments (the replay's setup calls, a script's other calls). */
static void call_by_name(const char* name, int count, const uint32_t* args) {
  const port_export* e = find_export(name);
  if (!e) fail(2, "the module has no callable export", name);
  if ((int)e->params != count) fail(2, "wrong number of arguments for", name);
  export_line(name, count, args, NULL, 0);
  uint32_t result = e->call(&vm.module, args);
  if (e->returns) result_line(name, result);
}

/* ---------------------------------------------------------------------------------------------------------------- */
/* The replay: a virtual clock that boots, ticks and reboots the module by itself, and the script's deliveries.      */

static scheduled* setups;
static int setup_count;
static scheduled* inputs;
static int input_count, input_next;
static scheduled end;
static int out_of_step;

static void step_error(const scheduled* s, const char* what) {
  char buffer[16];
  out_flush();
  say(2, "rabbit-port: out of step with the script", s ? " at line " : "", s ? format_u32(buffer + sizeof buffer, (uint32_t)s->line) : "");
  say(2, ": ", what, "\n");
  out_of_step = 1;
}

/** After every export call: a reboot the module asked for (docs/ABI.md, "Lifecycle" 6). */
static void after_call(void) {
  if (!vm.reboot_asked) return;
  vm.reboot_asked = 0;
  vm.rebooting = 1;
  vm.reboot_at = vm.now + vm.reboot_delay_ms;
  /* Its connections are closed and its requests forgotten: no event reaches the next instance. */
  vm.connection_count = 0;
  vm.request_count = 0;
}

/** A fresh instance: RAM lost, flash kept, time_ms from 0; the script's setup calls for it, then boot(). */
static void boot_instance(void) {
  if (vm.live) Z_rabbit_free(&vm.module);
  vm.boots++;
  vm.ticks = 0;
  vm.rebooting = 0;
  vm.boot_time = vm.now;
  vm.connection_count = 0;
  vm.request_count = 0;
  if (vm.rng_boot_state_set) {
    vm.rng = vm.rng_boot_state;
    vm.boot_seed_pending = 1;
  }
  INSTANTIATE();
  vm.live = 1;
  line_start();
  out_str("instantiate\n");
  for (int i = 0; i < setup_count; i++) {
    if (setups[i].boot != vm.boots) continue;
    uint32_t args[MAX_WORDS];
    for (int a = 1; a < setups[i].count; a++) {
      if (!parse_int(setups[i].words[a], &args[a - 1])) fail(2, "bad setup argument", setups[i].words[a]);
    }
    call_by_name(setups[i].words[0], setups[i].count - 1, args);
  }
  export_line("boot", 0, NULL, NULL, 0);
  Z_rabbitZ_boot(&vm.module);
  after_call();
}

static void tick(void) {
  vm.now = vm.boot_time + vm.tick_ms * (vm.ticks + 1);
  vm.ticks++;
  export_line("tick", 0, NULL, NULL, 0);
  Z_rabbitZ_tick(&vm.module);
  after_call();
}

/** Copies bytes into IO_IN, at most IO_IN_CAPACITY (the script's deliveries are already cut to fit). */
static void put_input(const uint8_t* bytes, uint32_t length) {
  if (length > io_in_capacity()) fail(2, "a delivery larger than IO_IN", NULL);
  memcpy(memory_at(&vm, io_in(), length), bytes, length);
}

/** One of the script's inputs, now due: checked against what the module asked for, then delivered. */
static void deliver(scheduled* s) {
  const char* name = s->words[0];
  uint32_t args[MAX_WORDS];
  int count = s->count - 1;
  int payload_word = 0;
  int is_event = strcmp(name, "tcp_event") == 0, is_http = strcmp(name, "http_done") == 0, is_dns = strcmp(name, "dns_done") == 0;
  if ((is_event || is_http || is_dns) && count == 4) {
    payload_word = s->count - 1;
    count = 3;
  }
  for (int i = 0; i < count; i++) {
    if (!parse_int(s->words[i + 1], &args[i])) fail(2, "bad argument", s->words[i + 1]);
  }
  if (!is_event && !is_http && !is_dns) {
    call_by_name(name, count, args);
    after_call();
    return;
  }
  if (count != 3) fail(2, "a delivery takes three numbers", name);
  int32_t length = payload_word ? unhex(s->words[payload_word]) : 0;
  uint32_t announced = is_event ? ((int32_t)args[1] == 1 ? args[2] : 0) : args[2];
  if (length < 0 || (uint32_t)length != announced) fail(2, "payload length differs from the call's", name);
  if (is_event) {
    connection* c = find_connection(args[0]);
    if (!c) {
      step_error(s, "an event for a connection the module does not have open");
      return;
    }
    if ((int32_t)args[1] == 0) c->established = 1;
    if ((int32_t)args[1] == -1) drop_connection(c);
  } else {
    int found = -1;
    for (int i = 0; i < vm.request_count; i++) {
      if (vm.requests[i].id == args[0] && vm.requests[i].kind == (is_http ? 'h' : 'd')) found = i;
    }
    if (found < 0) {
      step_error(s, "an answer to a request the module did not make (or that was answered)");
      return;
    }
    vm.requests[found] = vm.requests[--vm.request_count];
  }
  const uint8_t* payload = (const uint8_t*)(payload_word ? s->words[payload_word] : "");
  put_input(payload, (uint32_t)length);
  export_line(name, 3, args, payload_word ? payload : NULL, (uint32_t)length);
  if (is_event) Z_rabbitZ_tcp_event(&vm.module, args[0], args[1], args[2]);
  if (is_http) Z_rabbitZ_http_done(&vm.module, args[0], args[1], args[2]);
  if (is_dns) Z_rabbitZ_dns_done(&vm.module, args[0], args[1], args[2]);
  after_call();
}

/** Reads "TIME BOOT TICKS" from words[0..2]. */
static int parse_position(char** words, scheduled* s) {
  return parse_int(words[0], &s->time) && parse_int(words[1], &s->boot) && parse_int(words[2], &s->ticks);
}

static void load_script(char* text) {
  char* cursor = text;
  char* line;
  int number = 0, have_end = 0;
  int setup_capacity = 64, input_capacity = 64, random_capacity = 8;
  setups = malloc(sizeof *setups * (size_t)setup_capacity);
  inputs = malloc(sizeof *inputs * (size_t)input_capacity);
  vm.random_bytes = malloc(sizeof(char*) * (size_t)random_capacity);
  memset(vm.flash, 0xff, sizeof vm.flash);
  vm.tick_ms = 50;
  vm.reboot_delay_ms = 5000;
  while ((line = next_line(&cursor)) != NULL) {
    number++;
    if (number == 1) {
      if (strcmp(line, "nabaztag-vm replay script 1") != 0) fail(2, "not a replay script (version 1)", line);
      continue;
    }
    if (*line == 0 || *line == '#') continue;
    char** words = malloc(sizeof(char*) * MAX_WORDS);
    int count = split(line, words, MAX_WORDS);
    if (count < 1 || !words) fail(2, "bad line in the replay script", line);
    const char* key = words[0];
    uint32_t value = 0;
    if (strcmp(key, "mac") == 0 && count == 2) {
      if (unhex(words[1]) != 6) fail(2, "bad mac", NULL);
      memcpy(vm.mac, words[1], 6);
    } else if (strcmp(key, "rng-state") == 0 && count == 2) {
      vm.rng_boot_state_set = strcmp(words[1], "none") != 0;
      if (vm.rng_boot_state_set && !parse_int(words[1], &vm.rng_boot_state)) fail(2, "bad rng-state", words[1]);
    } else if (strcmp(key, "tick-ms") == 0 && count == 2 && parse_int(words[1], &value)) {
      vm.tick_ms = value;
    } else if (strcmp(key, "reboot-delay-ms") == 0 && count == 2 && parse_int(words[1], &value)) {
      vm.reboot_delay_ms = value;
    } else if (strcmp(key, "flash") == 0 && count == 3 && parse_int(words[1], &value)) {
      int32_t length = unhex(words[2]);
      if (length < 0 || value > FLASH_SIZE || (uint32_t)length > FLASH_SIZE - value) fail(2, "bad flash line", NULL);
      memcpy(vm.flash + value, words[2], (size_t)length);
    } else if (strcmp(key, "random-bytes") == 0 && count == 2) {
      if (vm.random_count == random_capacity) vm.random_bytes = realloc(vm.random_bytes, sizeof(char*) * (size_t)(random_capacity *= 2));
      vm.random_bytes[vm.random_count++] = words[1];
    } else if (strcmp(key, "setup") == 0 && count >= 3) {
      if (setup_count == setup_capacity) setups = realloc(setups, sizeof *setups * (size_t)(setup_capacity *= 2));
      scheduled* s = &setups[setup_count++];
      if (!parse_int(words[1], &s->boot)) fail(2, "bad setup line", NULL);
      s->words = words + 2;
      s->count = count - 2;
      s->line = number;
    } else if (strcmp(key, "end") == 0 && count == 4) {
      if (!parse_position(words + 1, &end)) fail(2, "bad end line", NULL);
      end.line = number;
      have_end = 1;
    } else if (count >= 4 && parse_int(words[0], &value)) {
      if (input_count == input_capacity) inputs = realloc(inputs, sizeof *inputs * (size_t)(input_capacity *= 2));
      scheduled* s = &inputs[input_count++];
      if (!parse_position(words, s)) fail(2, "bad input line", NULL);
      s->words = words + 3;
      s->count = count - 3;
      s->line = number;
    } else {
      fail(2, "unknown line in the replay script", key);
    }
    if (!setups || !inputs || !vm.random_bytes) fail(2, "out of memory", NULL);
  }
  if (!have_end) fail(2, "the replay script has no end line", NULL);
}

static int replay(const char* script_path) {
  load_script(read_file(script_path));
  vm.replaying = 1;
  vm.next_handle = 1;
  vm.next_request = 1;
  vm.now = 0;
  boot_instance();
  while (!out_of_step) {
    scheduled* next = input_next < input_count ? &inputs[input_next] : NULL;
    if (vm.rebooting) {
      if (!next && end.boot == vm.boots) break;
      if (next && next->boot == vm.boots) {
        step_error(next, "an input for an instance that asked to reboot");
        break;
      }
      vm.now = vm.reboot_at;
      boot_instance();
      continue;
    }
    if (!next && end.boot == vm.boots && end.ticks == vm.ticks) break;
    uint32_t next_tick = vm.boot_time + vm.tick_ms * (vm.ticks + 1);
    if (next && next->boot == vm.boots && next->ticks == vm.ticks) {
      if (next->time < vm.now || next->time > next_tick) {
        step_error(next, "the input is due at a time the clock does not give it");
        break;
      }
      vm.now = next->time;
      input_next++;
      deliver(next);
      continue;
    }
    if (next && (next->boot < vm.boots || (next->boot == vm.boots && next->ticks < vm.ticks))) {
      step_error(next, "the input was due earlier");
      break;
    }
    if (next_tick > end.time || (end.boot == vm.boots && vm.ticks >= end.ticks)) {
      step_error(next ? next : &end, "the run went past the script's end");
      break;
    }
    tick();
  }
  return out_of_step ? 1 : 0;
}

/* ---------------------------------------------------------------------------------------------------------------- */
/* Call scripts: export calls on one instance, with the outputs port/calls.mjs writes for the Node host.              */

static uint32_t last_result;
static char last_value[40000];

static uint32_t call_argument(const char* word) {
  uint32_t value;
  if (strcmp(word, "ret") == 0) return last_result;
  if (strcmp(word, "in_cap") == 0) return io_in_capacity();
  if (strcmp(word, "out_cap") == 0) return io_out_capacity();
  if (strncmp(word, "in+", 3) == 0 && parse_int(word + 3, &value)) return io_in() + value;
  if (strncmp(word, "out+", 4) == 0 && parse_int(word + 4, &value)) return io_out() + value;
  if (!parse_int(word, &value)) fail(2, "bad argument in the call script", word);
  return value;
}

static int calls(const char* script_path) {
  char* cursor = read_file(script_path);
  char* line;
  int failures = 0;
  vm.replaying = 0;
  memset(vm.flash, 0xff, sizeof vm.flash);
  INSTANTIATE();
  vm.live = 1;
  while ((line = next_line(&cursor)) != NULL) {
    if (*line == 0 || *line == '#') continue;
    char* words[MAX_WORDS];
    int count = split(line, words, MAX_WORDS);
    if (count < 1) fail(2, "bad line in the call script", line);
    const char* command = words[0];
    if (strcmp(command, "mac") == 0 && count == 2) {
      if (unhex(words[1]) != 6) fail(2, "bad mac", NULL);
      memcpy(vm.mac, words[1], 6);
    } else if (strcmp(command, "clock") == 0 && count == 2) {
      vm.clock = call_argument(words[1]);
    } else if (strcmp(command, "srand") == 0 && count == 2) {
      vm.rng = call_argument(words[1]);
    } else if (strcmp(command, "rand") == 0 && count == 2) {
      uint32_t draws = call_argument(words[1]);
      size_t at = 0;
      for (uint32_t i = 0; i < draws; i++) {
        char buffer[16];
        if (at + 16 > sizeof last_value) fail(2, "too many draws", NULL);
        if (i) last_value[at++] = ',';
        vm.rng = vm.rng * 0x1234567u + 11u;
        const char* digits = format_u32(buffer + sizeof buffer, (vm.rng >> 8) & 0xffffu);
        size_t n = strlen(digits);
        memcpy(last_value + at, digits, n);
        at += n;
      }
      if (at == 0) last_value[at++] = '-';
      last_value[at] = 0;
      out_str("rand ");
      out_str(last_value);
      out_char('\n');
    } else if (strcmp(command, "put") == 0 && count == 3) {
      uint32_t offset = call_argument(words[1]);
      int32_t length = unhex(words[2]);
      if (length < 0 || offset > io_in_capacity() || (uint32_t)length > io_in_capacity() - offset) fail(2, "bad put", NULL);
      memcpy(memory_at(&vm, io_in() + offset, (uint32_t)length), words[2], (size_t)length);
    } else if (strcmp(command, "call") == 0 && count >= 2) {
      const port_export* e = find_export(words[1]);
      uint32_t args[MAX_WORDS];
      if (!e) fail(2, "the module has no callable export", words[1]);
      if ((int)e->params != count - 2) fail(2, "wrong number of arguments for", words[1]);
      for (int i = 2; i < count; i++) args[i - 2] = call_argument(words[i]);
      uint32_t result = e->call(&vm.module, args);
      out_str("call ");
      out_str(e->name);
      if (e->returns) {
        char buffer[16];
        last_result = result;
        out_str(" -> ");
        out_int((int32_t)result);
        char* value = format_u32(buffer + sizeof buffer, (int32_t)result < 0 ? 0u - result : result);
        if ((int32_t)result < 0) *--value = '-';
        memcpy(last_value, value, strlen(value) + 1);
      } else {
        memcpy(last_value, "-", 2);
      }
      out_char('\n');
    } else if (strcmp(command, "read") == 0 && count == 3) {
      uint32_t pointer = call_argument(words[1]), length = call_argument(words[2]);
      if (2 * (size_t)length + 1 > sizeof last_value) fail(2, "a read too long for the call script", NULL);
      const uint8_t* bytes = memory_at(&vm, pointer, length);
      for (uint32_t i = 0; i < length; i++) {
        last_value[2 * i] = HEX[bytes[i] >> 4];
        last_value[2 * i + 1] = HEX[bytes[i] & 15];
      }
      last_value[length ? 2 * length : 1] = 0;
      if (!length) last_value[0] = '-';
      out_str("read ");
      out_str(last_value);
      out_char('\n');
    } else if (strcmp(command, "expect") == 0 && count == 2) {
      if (strcmp(words[1], last_value) == 0) {
        out_str("expect ok\n");
      } else {
        failures++;
        out_str("expect FAIL want ");
        out_str(words[1]);
        out_str(" got ");
        out_str(last_value);
        out_char('\n');
      }
    } else {
      fail(2, "unknown line in the call script", command);
    }
  }
  return failures ? 1 : 0;
}

/* ---------------------------------------------------------------------------------------------------------------- */

int main(int argc, char** argv) {
  if (argc < 4 || (strcmp(argv[1], "replay") != 0 && strcmp(argv[1], "calls") != 0)) {
    say(2, "usage: rabbit-port replay SCRIPT TRANSCRIPT [-u]\n       rabbit-port calls SCRIPT OUTPUT\n", NULL, NULL);
    return 2;
  }
  for (int i = 4; i < argc; i++) {
    if (strcmp(argv[i], "-u") == 0) {
      vm.uart_to_stderr = 1;
    } else {
      fail(2, "unknown option", argv[i]);
    }
  }
  if (strcmp(argv[3], "-") != 0) {
    out_fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out_fd < 0) fail(2, "cannot write", argv[3]);
  }
  wasm_rt_init();
  Z_rabbit_init_module();
  int status = strcmp(argv[1], "replay") == 0 ? replay(argv[2]) : calls(argv[2]);
  out_flush();
  if (vm.live) Z_rabbit_free(&vm.module);
  if (out_fd != 1) close(out_fd);
  return status;
}
