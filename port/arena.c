/*
 * The device build's memory: one static array of exactly the bytes the module uses, in place of wasm2c's runtime
 * allocating whole 64 KiB pages. port/build.mjs compiles this with PORT_ARENA_BYTES (the module's arena_end(), the
 * end of its memory map, rounded up to 16) and links it with -Wl,--wrap=wasm_rt_allocate_memory and
 * -Wl,--wrap=wasm_rt_free_memory, so that the module's instantiate and free calls come here.
 *
 * Why this is sound: the module reserves every byte it touches in its memory map (assembly/memory-map.ts), below
 * arena_end(); the host writes only into its buffers (IO_IN); and the device module never asks its memory's size
 * (no memory.size, no memory.grow: the port kit checks). memory->size is the arena's size, so any access past it is
 * a bounds-check trap (the device build is compiled with WASM_RT_MEMCHECK_SIGNAL_HANDLER=0: explicit checks), never a
 * write into whatever follows the array. The declared page count is kept as the module says.
 */

#include <stdint.h>
#include <string.h>

#include "wasm-rt.h"

#ifndef PORT_ARENA_BYTES
#error "PORT_ARENA_BYTES: the module's arena_end() rounded up to 16 (port/build.mjs passes it)"
#endif

void __wrap_wasm_rt_allocate_memory(wasm_rt_memory_t* memory, uint32_t initial_pages, uint32_t max_pages);
void __wrap_wasm_rt_free_memory(wasm_rt_memory_t* memory);

static uint8_t arena[PORT_ARENA_BYTES] __attribute__((aligned(16)));

/** A fresh instance's memory: the arena, zeroed (the module's data segments are copied in after this). */
void __wrap_wasm_rt_allocate_memory(wasm_rt_memory_t* memory, uint32_t initial_pages, uint32_t max_pages) {
  memset(arena, 0, sizeof arena);
  memory->data = arena;
  memory->size = sizeof arena;
  memory->pages = initial_pages;
  memory->max_pages = max_pages;
}

/** Nothing to give back: the next instance takes the same arena. */
void __wrap_wasm_rt_free_memory(wasm_rt_memory_t* memory) {
  memory->data = 0;
  memory->size = 0;
}
