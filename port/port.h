/*
 * The port kit's glue between a host and the wasm2c output of build/rabbit.wasm (port/README.md).
 *
 * wasm2c (wabt 1.0.32, Debian 12) turns the module into build/port/gen/rabbit.c and rabbit.h: an instance struct
 * (Z_rabbit_instance_t), Z_rabbit_init_module(), Z_rabbit_instantiate(&instance, &env, &vm), Z_rabbit_free(), one C
 * function per export (Z_rabbitZ_<name>) and one extern declaration per import (Z_vmZ_<name>, Z_envZ_abort) that the
 * host defines. The host also defines the two import structs, `struct Z_vm_instance_t` and `struct Z_env_instance_t`:
 * they are whatever the host wants them to be; the module only passes their pointers back to the imports.
 *
 * Calls by name: port/build.mjs generates build/port/gen/exports.c from rabbit.h, a table of every export whose
 * parameters are all i32, so that a script (the replay's setup calls, the call scripts) can name any export,
 * including ones added to the module after this host was written.
 *
 * What differs between modules, as macros from build/port/.../gen/port_module.h (generated from rabbit.h too):
 * PORT_ENV_ABORT is 1 when the module imports env.abort (debug builds; no release build does), and then
 * Z_rabbit_instantiate takes the env struct before the vm one; PORT_IO_OUT is 1 when it exports IO_OUT (the full
 * module; the device build has no test points and no output buffer).
 */
#ifndef PORT_H
#define PORT_H

#include <stdint.h>

#include "port_module.h"
#include "rabbit.h"

typedef uint32_t (*port_export_fn)(Z_rabbit_instance_t* module, const uint32_t* args);

typedef struct {
  const char* name;
  /** Number of i32 parameters. */
  unsigned params;
  /** 1 if the export returns an i32, 0 if it returns nothing. */
  unsigned returns;
  port_export_fn call;
} port_export;

/** Every callable export, ending with an entry whose name is NULL (generated: build/port/gen/exports.c). */
extern const port_export port_exports[];

#endif
