/*
 * The POSIX calls host_posix.c makes, for the ARM build under qemu-arm: Linux system calls, no libc
 * (port/arm/rt.c says why). The heap comes from brk.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SYS_EXIT_GROUP 248
#define SYS_READ 3
#define SYS_WRITE 4
#define SYS_OPEN 5
#define SYS_CLOSE 6
#define SYS_BRK 45
#define HEAP_SIZE (4u << 20)

long port_syscall(long number, long a, long b, long c);
void port_heap(void* base, size_t size);
size_t port_heap_peak(void);
int main(int argc, char** argv);
void port_start(int argc, char** argv);
ssize_t read(int fd, void* buffer, size_t length);
ssize_t write(int fd, const void* buffer, size_t length);
int open(const char* path, int flags, ...);
int close(int fd);
void _exit(int status);

ssize_t read(int fd, void* buffer, size_t length) {
  long r = port_syscall(SYS_READ, fd, (long)buffer, (long)length);
  return r < 0 ? -1 : r;
}

ssize_t write(int fd, const void* buffer, size_t length) {
  long r = port_syscall(SYS_WRITE, fd, (long)buffer, (long)length);
  return r < 0 ? -1 : r;
}

int open(const char* path, int flags, ...) {
  va_list list;
  va_start(list, flags);
  int mode = va_arg(list, int);
  va_end(list);
  long r = port_syscall(SYS_OPEN, (long)path, flags, mode);
  return r < 0 ? -1 : (int)r;
}

int close(int fd) { return port_syscall(SYS_CLOSE, fd, 0, 0) < 0 ? -1 : 0; }

void _exit(int status) {
  for (;;) port_syscall(SYS_EXIT_GROUP, status, 0, 0);
}

static void say_number(const char* label, size_t value) {
  char digits[16];
  char* p = digits + sizeof digits;
  do {
    *--p = (char)('0' + value % 10);
    value /= 10;
  } while (value);
  size_t n = 0;
  while (label[n]) n++;
  write(2, label, n);
  write(2, p, (size_t)(digits + sizeof digits - p));
  write(2, " bytes\n", 7);
}

/* Called by _start (start.S). With PORT_HEAP_PEAK=1 in the environment, the heap's high-water mark goes to stderr
 * at exit (port/test.mjs reports it: the RAM a firmware's heap needs). */
void port_start(int argc, char** argv) {
  long base = port_syscall(SYS_BRK, 0, 0, 0);
  long top = port_syscall(SYS_BRK, base + HEAP_SIZE, 0, 0);
  if (top < base + (long)HEAP_SIZE) _exit(70);
  port_heap((void*)base, HEAP_SIZE);
  int report = 0;
  for (char** e = argv + argc + 1; *e; e++) {
    const char* v = *e;
    const char* want = "PORT_HEAP_PEAK=1";
    int i = 0;
    while (want[i] && v[i] == want[i]) i++;
    if (!want[i] && !v[i]) report = 1;
  }
  int status = main(argc, argv);
  if (report) say_number("rabbit-port: heap peak ", port_heap_peak());
  _exit(status);
}
