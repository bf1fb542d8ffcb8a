/*
 * Fuzz target "locate": the locate.jsp parser (assembly/rabbit/boot.ts parseLocate, and setDomain's "host:port"),
 * reached as the VM reaches it: boot() on a fresh instance (firmware profile), then http_done(request, 200, length)
 * with the input as the body in IO_IN, then a few main-loop steps with the scripted server answering DNS and
 * connecting.
 *
 * Input: the body, as it is (at most IO_IN_CAPACITY bytes).
 *
 * Checks: no trap, memory.size unchanged, status and state within range; and against a reference parser written
 * from boot.ts's comments (lines of "key value" split at the first space, CR dropped, the last usable xmpp_domain
 * of 1..128 bytes wins, "host:port" with a port of 1..65535 names the port): no domain → status stays booting and
 * nothing is asked; a domain with a port → tcp_open(domain, port) if it is a dotted IPv4 address, else an A query for
 * it; a domain alone → an SRV query for "_xmpp-client._tcp." + domain (or, when that name would pass 128 bytes, no
 * query and status closed).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm.h"

#define HOST_CAPACITY 128
#define SRV_PREFIX "_xmpp-client._tcp."

static vm_snapshot* fresh;

typedef struct {
  int found;
  const uint8_t* domain;
  uint32_t length, port;
} located;

static int is_key(const uint8_t* key, uint32_t length, const char* name) { return length == strlen(name) && memcmp(key, name, length) == 0; }

static located reference(const uint8_t* body, uint32_t length) {
  located r = {0, NULL, 0, 0};
  for (uint32_t start = 0; start < length;) {
    const uint8_t* newline = memchr(body + start, '\n', length - start);
    uint32_t end = newline ? (uint32_t)(newline - body) : length;
    uint32_t line_end = end;
    while (line_end > start && body[line_end - 1] == '\r') line_end--;
    const uint8_t* space = memchr(body + start, ' ', line_end - start);
    if (space && space > body + start) {
      uint32_t key_length = (uint32_t)(space - body) - start;
      const uint8_t* value = space + 1;
      uint32_t value_length = line_end - start - key_length - 1;
      if (is_key(body + start, key_length, "xmpp_domain") && value_length > 0 && value_length <= HOST_CAPACITY) {
        /* "host:port": the last ':', digits after it, 1..65535; anything else is all domain. */
        int32_t colon = -1;
        for (int32_t i = (int32_t)value_length - 1; i >= 0; i--) {
          if (value[i] == ':') {
            colon = i;
            break;
          }
        }
        int64_t port = 0;
        if (colon > 0 && colon < (int32_t)value_length - 1) {
          for (uint32_t i = (uint32_t)colon + 1; i < value_length; i++) {
            if (value[i] < '0' || value[i] > '9' || port > 65535) {
              port = -1;
              break;
            }
            port = port * 10 + (value[i] - '0');
          }
        }
        r.found = 1;
        r.domain = value;
        if (port > 0 && port <= 65535) {
          r.length = (uint32_t)colon;
          r.port = (uint32_t)port;
        } else {
          r.length = value_length;
          r.port = 0;
        }
      }
    }
    start = end + 1;
  }
  return r;
}

static int is_ipv4(const uint8_t* p, uint32_t length) {
  int dots = 0, digits = 0;
  for (uint32_t i = 0; i < length; i++) {
    if (p[i] == '.') {
      if (digits == 0) return 0;
      dots++;
      digits = 0;
    } else if (p[i] >= '0' && p[i] <= '9' && digits < 3) {
      digits++;
    } else {
      return 0;
    }
  }
  return dots == 3 && digits > 0;
}

int LLVMFuzzerTestOneInput(const uint8_t* input, size_t size) {
  if (!fresh) {
    vm_start();
    fresh = vm_save();
  }
  if (size > vm_io_in_capacity()) return -1;
  vm_restore(fresh);
  Z_rabbitZ_boot(&vm_module);
  if (vm.http_request < 0) vm_fail("boot() asked for no locate.jsp", NULL);
  int32_t request = vm.http_request;
  vm.http_request = -1;
  vm_put(input, (uint32_t)size);
  Z_rabbitZ_http_done(&vm_module, (u32)request, 200, (u32)size);
  vm_check_memory();
  vm_check_status();

  located r = reference(input, (uint32_t)size);
  uint32_t status = Z_rabbitZ_rabbit_status(&vm_module);
  vm_note("locate: domain %.*s port %u; status %u, %u DNS queries, %u connections", r.found ? (int)r.length : 0, r.found ? (const char*)r.domain : "", r.port, status, vm.dns_queries, vm.opens);
  if (!r.found) {
    if (status != 0 || vm.dns_queries || vm.opens) vm_fail("locate: no xmpp_domain, and the rabbit went on", NULL);
  } else if (r.port > 0 && is_ipv4(r.domain, r.length)) {
    if (status != 1 || vm.opens != 1 || vm.dns_queries) vm_fail("locate: an address and a port, and no connection", NULL);
    if (vm.port != r.port || vm.address_length != r.length || memcmp(vm.address, r.domain, r.length) != 0) vm_fail("locate: connected elsewhere", NULL);
  } else if (r.port > 0) {
    if (status != 1 || vm.dns_queries != 1 || vm.dns_type != 1 || vm.opens) vm_fail("locate: a host and a port, and no A query", NULL);
    if (vm.dns_name_length != r.length || memcmp(vm.dns_name, r.domain, r.length) != 0) vm_fail("locate: the A query is for another name", NULL);
  } else if (strlen(SRV_PREFIX) + r.length > HOST_CAPACITY) {
    if (status != 5 || vm.dns_queries || vm.opens) vm_fail("locate: an SRV name too long, and the rabbit did not give up", NULL);
  } else {
    if (status != 1 || vm.dns_queries != 1 || vm.dns_type != 33 || vm.opens) vm_fail("locate: a domain, and no SRV query", NULL);
    if (vm.dns_name_length != strlen(SRV_PREFIX) + r.length || memcmp(vm.dns_name, SRV_PREFIX, strlen(SRV_PREFIX)) != 0 ||
        memcmp(vm.dns_name + strlen(SRV_PREFIX), r.domain, r.length) != 0) {
      vm_fail("locate: the SRV query is for another name", NULL);
    }
  }
  vm_serve_steps(4);
  vm_check_memory();
  vm_check_status();
  return 0;
}
