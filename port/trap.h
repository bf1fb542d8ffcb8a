/*
 * Included (-include port/trap.h) when wasm2c's runtime, wasm-rt-impl.c, is compiled with
 * -DWASM_RT_TRAP_HANDLER=port_trap: a trap (out-of-bounds access, unreachable, call stack exhausted) then calls the
 * host's port_trap instead of longjmp-ing to a wasm_rt_impl_try() point. The module never traps on input
 * (docs/ABI.md): a trap is a bug, and the host reports it and stops (a device would reboot).
 */
#ifndef PORT_TRAP_H
#define PORT_TRAP_H

#include "wasm-rt.h"

WASM_RT_NO_RETURN void port_trap(wasm_rt_trap_t code);

#endif
