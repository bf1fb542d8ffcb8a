/*
 * What a bare ARMv4T target supplies to the module, wasm2c's runtime and the host, in place of libc and libgcc
 * (port/README.md, "What a firmware supplies"). Debian's armel libc and libgcc are ARMv5TE code (clz, blx, ldrd):
 * they do not run on an ARM7TDMI, so the ARM build links none of them and this file (with thumb1.S) is all of it.
 *
 *   memory and strings   memcpy memmove memset memcmp strlen strcmp strncmp strchr
 *   heap                 malloc calloc realloc free, over one region given by port_heap() (first fit, no
 *                        splitting beyond need: the module's 256 KiB memory is one block, freed and taken again
 *                        at each reboot; the rest is a few small wasm2c tables)
 *   integer helpers      32-bit division (__aeabi_idiv, __aeabi_uidiv and their divmod forms), 64-bit division
 *                        (through thumb1.S), 64-bit multiplication, bit counts: what gcc calls for wasm's integer
 *                        operations in Thumb-1, which has no divide, no long multiply and no clz.
 *
 * Compiled with -ffreestanding -fno-builtin -fno-tree-loop-distribute-patterns, so that gcc does not turn these
 * loops back into calls to themselves.
 */

#include <stddef.h>
#include <stdint.h>

/* Prototypes (also what the module and the host call). */
void* memcpy(void* destination, const void* source, size_t length);
void* memmove(void* destination, const void* source, size_t length);
void* memset(void* destination, int value, size_t length);
int memcmp(const void* a, const void* b, size_t length);
size_t strlen(const char* text);
int strcmp(const char* a, const char* b);
int strncmp(const char* a, const char* b, size_t length);
char* strchr(const char* text, int c);
void port_heap(void* base, size_t size);
size_t port_heap_peak(void);
void* malloc(size_t size);
void* calloc(size_t count, size_t size);
void* realloc(void* pointer, size_t size);
void free(void* pointer);
uint32_t __aeabi_uidiv(uint32_t n, uint32_t d);
int32_t __aeabi_idiv(int32_t n, int32_t d);
uint64_t __aeabi_uidivmod(uint32_t n, uint32_t d);
uint64_t __aeabi_idivmod(int32_t n, int32_t d);
uint64_t port_udivmod64(uint64_t n, uint64_t d, uint64_t* remainder);
int64_t port_sdivmod64(int64_t n, int64_t d, int64_t* remainder);
uint64_t __aeabi_lmul(uint64_t a, uint64_t b);
int __clzsi2(uint32_t x);
int __clzdi2(uint64_t x);
int __ctzsi2(uint32_t x);
int __ctzdi2(uint64_t x);
int __popcountsi2(uint32_t x);
int __popcountdi2(uint64_t x);

/* ---- memory and strings ---- */

void* memcpy(void* destination, const void* source, size_t length) {
  uint8_t* d = destination;
  const uint8_t* s = source;
  if ((((uintptr_t)d | (uintptr_t)s) & 3) == 0) {
    for (; length >= 4; length -= 4, d += 4, s += 4) *(uint32_t*)(void*)d = *(const uint32_t*)(const void*)s;
  }
  while (length--) *d++ = *s++;
  return destination;
}

void* memmove(void* destination, const void* source, size_t length) {
  uint8_t* d = destination;
  const uint8_t* s = source;
  if (d <= s || d >= s + length) return memcpy(destination, source, length);
  while (length--) d[length] = s[length];
  return destination;
}

void* memset(void* destination, int value, size_t length) {
  uint8_t* d = destination;
  uint8_t byte = (uint8_t)value;
  if (((uintptr_t)d & 3) == 0) {
    uint32_t word = byte * 0x01010101u;
    for (; length >= 4; length -= 4, d += 4) *(uint32_t*)(void*)d = word;
  }
  while (length--) *d++ = byte;
  return destination;
}

int memcmp(const void* a, const void* b, size_t length) {
  const uint8_t *x = a, *y = b;
  for (size_t i = 0; i < length; i++) {
    if (x[i] != y[i]) return x[i] - y[i];
  }
  return 0;
}

size_t strlen(const char* text) {
  size_t n = 0;
  while (text[n]) n++;
  return n;
}

int strcmp(const char* a, const char* b) {
  while (*a && *a == *b) a++, b++;
  return (uint8_t)*a - (uint8_t)*b;
}

int strncmp(const char* a, const char* b, size_t length) {
  for (; length > 0; length--, a++, b++) {
    if (*a != *b || *a == 0) return (uint8_t)*a - (uint8_t)*b;
  }
  return 0;
}

char* strchr(const char* text, int c) {
  for (;; text++) {
    if (*text == (char)c) return (char*)text;
    if (*text == 0) return NULL;
  }
}

/* ---- heap ---- */

typedef struct block {
  size_t size; /* bytes after the header */
  struct block* next_free;
} block;

static uint8_t* heap_next;
static uint8_t* heap_end;
static uint8_t* heap_start;
static size_t heap_peak;
static block* free_list;

void port_heap(void* base, size_t size) {
  heap_start = heap_next = (uint8_t*)(((uintptr_t)base + 7) & ~(uintptr_t)7);
  heap_end = (uint8_t*)base + size;
  free_list = NULL;
}

size_t port_heap_peak(void) { return heap_peak; }

void* malloc(size_t size) {
  size = (size + 7) & ~(size_t)7;
  for (block **link = &free_list, *b = free_list; b; link = &b->next_free, b = b->next_free) {
    if (b->size >= size && b->size <= size + size / 4 + 64) {
      *link = b->next_free;
      return b + 1;
    }
  }
  if ((size_t)(heap_end - heap_next) < size + sizeof(block)) return NULL;
  block* b = (block*)(void*)heap_next;
  b->size = size;
  heap_next += sizeof(block) + size;
  if ((size_t)(heap_next - heap_start) > heap_peak) heap_peak = (size_t)(heap_next - heap_start);
  return b + 1;
}

void free(void* pointer) {
  if (!pointer) return;
  block* b = (block*)pointer - 1;
  b->next_free = free_list;
  free_list = b;
}

void* calloc(size_t count, size_t size) {
  if (size && count > (size_t)-1 / size) return NULL;
  void* p = malloc(count * size);
  if (p) memset(p, 0, count * size);
  return p;
}

void* realloc(void* pointer, size_t size) {
  if (!pointer) return malloc(size);
  block* b = (block*)pointer - 1;
  if (b->size >= size) return pointer;
  void* p = malloc(size);
  if (p) {
    memcpy(p, pointer, b->size);
    free(pointer);
  }
  return p;
}

/* ---- integer helpers (run-time ABI for the ARM architecture, and gcc's bit counts) ---- */

static uint32_t udivmod32(uint32_t n, uint32_t d, uint32_t* remainder) {
  uint32_t q = 0, r = 0;
  if (d == 0) {
    *remainder = n;
    return 0; /* wasm2c checks for zero before it divides */
  }
  for (int bit = 31; bit >= 0; bit--) {
    r = r << 1 | (n >> bit & 1);
    if (r >= d) {
      r -= d;
      q |= 1u << bit;
    }
  }
  *remainder = r;
  return q;
}

uint32_t __aeabi_uidiv(uint32_t n, uint32_t d) {
  uint32_t r;
  return udivmod32(n, d, &r);
}

/** Quotient in r0, remainder in r1: a 64-bit result's low and high words. */
uint64_t __aeabi_uidivmod(uint32_t n, uint32_t d) {
  uint32_t r;
  uint32_t q = udivmod32(n, d, &r);
  return (uint64_t)r << 32 | q;
}

static uint32_t magnitude(int32_t x) { return x < 0 ? 0u - (uint32_t)x : (uint32_t)x; }

int32_t __aeabi_idiv(int32_t n, int32_t d) {
  uint32_t r;
  uint32_t q = udivmod32(magnitude(n), magnitude(d), &r);
  return (int32_t)((n < 0) != (d < 0) ? 0u - q : q);
}

uint64_t __aeabi_idivmod(int32_t n, int32_t d) {
  uint32_t r;
  uint32_t q = udivmod32(magnitude(n), magnitude(d), &r);
  uint32_t quotient = (n < 0) != (d < 0) ? 0u - q : q;
  uint32_t remainder = n < 0 ? 0u - r : r;
  return (uint64_t)remainder << 32 | quotient;
}

/* 64-bit values: constant shifts, adds and compares are inlined by gcc; variable shifts are the helpers below. */
uint64_t __aeabi_llsl(uint64_t x, int n);
uint64_t __aeabi_llsr(uint64_t x, int n);
int64_t __aeabi_lasr(int64_t x, int n);

uint64_t __aeabi_llsl(uint64_t x, int n) {
  uint32_t low = (uint32_t)x, high = (uint32_t)(x >> 32);
  if (n >= 32) {
    high = low << (n - 32);
    low = 0;
  } else if (n > 0) {
    high = high << n | low >> (32 - n);
    low <<= n;
  }
  return (uint64_t)high << 32 | low;
}

uint64_t __aeabi_llsr(uint64_t x, int n) {
  uint32_t low = (uint32_t)x, high = (uint32_t)(x >> 32);
  if (n >= 32) {
    low = high >> (n - 32);
    high = 0;
  } else if (n > 0) {
    low = low >> n | high << (32 - n);
    high >>= n;
  }
  return (uint64_t)high << 32 | low;
}

int64_t __aeabi_lasr(int64_t x, int n) {
  uint32_t low = (uint32_t)x;
  int32_t high = (int32_t)((uint64_t)x >> 32);
  if (n >= 32) {
    low = (uint32_t)(high >> (n - 32));
    high = high < 0 ? -1 : 0;
  } else if (n > 0) {
    low = low >> n | (uint32_t)high << (32 - n);
    high >>= n;
  }
  return (int64_t)((uint64_t)(uint32_t)high << 32 | low);
}

uint64_t port_udivmod64(uint64_t n, uint64_t d, uint64_t* remainder) {
  uint64_t q = 0, r = 0;
  if (d == 0) {
    *remainder = n;
    return 0;
  }
  for (int i = 0; i < 64; i++) {
    r = r << 1 | n >> 63;
    n <<= 1;
    q <<= 1;
    if (r >= d) {
      r -= d;
      q |= 1;
    }
  }
  *remainder = r;
  return q;
}

int64_t port_sdivmod64(int64_t n, int64_t d, int64_t* remainder) {
  uint64_t un = n < 0 ? 0 - (uint64_t)n : (uint64_t)n;
  uint64_t ud = d < 0 ? 0 - (uint64_t)d : (uint64_t)d;
  uint64_t r;
  uint64_t q = port_udivmod64(un, ud, &r);
  *remainder = (int64_t)(n < 0 ? 0 - r : r);
  return (int64_t)((n < 0) != (d < 0) ? 0 - q : q);
}

/** 32 x 32 -> 64 from 16-bit pieces (Thumb-1's MUL keeps only the low 32 bits). */
static uint64_t mul32x32(uint32_t a, uint32_t b) {
  uint32_t al = a & 0xffff, ah = a >> 16, bl = b & 0xffff, bh = b >> 16;
  uint32_t low = al * bl, mid1 = al * bh, mid2 = ah * bl, high = ah * bh;
  uint32_t mid = (low >> 16) + (mid1 & 0xffff) + (mid2 & 0xffff);
  uint32_t lo = (low & 0xffff) | mid << 16;
  uint32_t hi = high + (mid1 >> 16) + (mid2 >> 16) + (mid >> 16);
  return (uint64_t)hi << 32 | lo;
}

uint64_t __aeabi_lmul(uint64_t a, uint64_t b) {
  uint32_t al = (uint32_t)a, ah = (uint32_t)(a >> 32), bl = (uint32_t)b, bh = (uint32_t)(b >> 32);
  uint64_t p = mul32x32(al, bl);
  uint32_t high = (uint32_t)(p >> 32) + al * bh + ah * bl;
  return (uint64_t)high << 32 | (uint32_t)p;
}

int __clzsi2(uint32_t x) {
  int n = 0;
  if (x == 0) return 32;
  if ((x & 0xffff0000u) == 0) n += 16, x <<= 16;
  if ((x & 0xff000000u) == 0) n += 8, x <<= 8;
  if ((x & 0xf0000000u) == 0) n += 4, x <<= 4;
  if ((x & 0xc0000000u) == 0) n += 2, x <<= 2;
  if ((x & 0x80000000u) == 0) n += 1;
  return n;
}

int __clzdi2(uint64_t x) {
  uint32_t high = (uint32_t)(x >> 32);
  return high ? __clzsi2(high) : 32 + __clzsi2((uint32_t)x);
}

int __ctzsi2(uint32_t x) {
  int n = 0;
  if (x == 0) return 32;
  if ((x & 0xffffu) == 0) n += 16, x >>= 16;
  if ((x & 0xffu) == 0) n += 8, x >>= 8;
  if ((x & 0xfu) == 0) n += 4, x >>= 4;
  if ((x & 0x3u) == 0) n += 2, x >>= 2;
  if ((x & 0x1u) == 0) n += 1;
  return n;
}

int __ctzdi2(uint64_t x) {
  uint32_t low = (uint32_t)x;
  return low ? __ctzsi2(low) : 32 + __ctzsi2((uint32_t)(x >> 32));
}

int __popcountsi2(uint32_t x) {
  x = x - ((x >> 1) & 0x55555555u);
  x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
  x = (x + (x >> 4)) & 0x0f0f0f0fu;
  return (int)((x * 0x01010101u) >> 24);
}

int __popcountdi2(uint64_t x) { return __popcountsi2((uint32_t)x) + __popcountsi2((uint32_t)(x >> 32)); }
