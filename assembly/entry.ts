// The VM's entry points (docs/ABI.md, "Exports: the VM's entry points"): what every build of the rabbit exports, the
// full one (index.ts) and the device's (device.ts). Pointers and lengths are i32 into the static buffers of
// memory-map.ts; booleans are i32 0/1.

import { state as rabbitState, stateSetup, status as rabbitStatus } from "./rabbit/state";
import { onButton, onDnsDone, onEars, onHttpDone, onTcpEvent, rabbitBoot, rabbitNextDueMs, rabbitTick, stateTableSetup } from "./xmpp/client";
import { setRegisterForm } from "./xmpp/register";

stateSetup();
stateTableSetup();

/** Starts the rabbit: MAC, flash, locate.jsp. Called once per instance (a reboot is a new instance). */
export function boot(): void {
  rabbitBoot();
}

/** The 20 Hz main loop tick. */
export function tick(): void {
  rabbitTick();
}

/**
 * The time_ms of the next tick that can do anything if no event comes first, or -1 (only an event can). A host may
 * skip the ticks before it, and must then call tick at exactly that time (it lies on the 50 ms tick grid).
 */
export function next_tick_ms(): i32 {
  return rabbitNextDueMs();
}

/** A TCP event on `handle`: 0 writable (the first one: connected), 1 data (`length` bytes in IO_IN), -1 closed. */
export function tcp_event(handle: i32, event: i32, length: i32): void {
  onTcpEvent(handle, event, length);
}

/** The answer to http_get `request`: HTTP status (-1 if none came) and the body's `length` bytes in IO_IN. */
export function http_done(request: i32, status: i32, length: i32): void {
  onHttpDone(request, status, length);
}

/** The answer to dns_query `request`: `count` records (-1: failed) in IO_IN's first `length` bytes. */
export function dns_done(request: i32, count: i32, length: i32): void {
  onDnsDone(request, count, length);
}

/** The head button: 1 click, 2 double click. */
export function button(clicks: i32): void {
  onButton(clicks);
}

/** The ears, moved by hand to these positions. */
export function ears(left: i32, right: i32): void {
  onEars(left, right);
}

/**
 * The registration form (xmpp/register.ts): 0 stock (violet:iq:register, the default), 1 binary (jabber:iq:register),
 * 2 seed (jabber:iq:register with name and email). Set before boot. Returns 0 (and changes nothing) for another value.
 */
export function register_form_set(form: i32): i32 {
  return setRegisterForm(form) ? 1 : 0;
}

/** Current status and state (STATUS_* and STATE_* of rabbit/state.ts), for the host to show. */
export function rabbit_status(): i32 {
  return rabbitStatus;
}

export function rabbit_state(): i32 {
  return rabbitState;
}
