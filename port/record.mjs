// Records a Node replay at the module's boundary, for the C host (port/README.md, "Replay script" and "Transcript").
//
// It runs the Node host's own replay (build/host/replay.js) unchanged and watches the module from outside: the
// WebAssembly.Instance constructor is wrapped for the duration of the run, so that every export the Node host calls
// and every import the module calls is written down with its virtual time. From that it makes
//   - the replay script: what came from outside the module (the setup calls before each boot, the TCP, HTTP and DNS
//     deliveries, button and ears, secure random bytes), each with the virtual time, boot and tick count it came at;
//     the C host plays it on its own clock (it boots, ticks every 50 ms, reboots and delivers by itself);
//   - the transcript: every export call and every import call, one line each, in the format the C host writes too.
//
// Nothing in host/ is changed: the scheduler is found by wrapping VirtualScheduler's methods, the flash by wrapping
// Flash's, and both wrappers are removed when the run ends.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** The replay script's and the transcript's byte strings: printable ASCII as is, everything else (and " \) as \xHH. */
export function quote(bytes) {
  let out = '"';
  for (const b of bytes) {
    out += b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`;
  }
  return `${out}"`;
}

export function hex(bytes) {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex");
}

/** Exports whose third argument is a length of bytes handed in through IO_IN (docs/ABI.md). */
const DELIVERIES = {
  tcp_event: (args) => (args[1] === 1 ? args[2] : 0),
  http_done: (args) => args[2],
  dns_done: (args) => args[2],
};

/**
 * Runs `run` (which must start and finish a Node replay) while recording every module instance it creates.
 * Returns what `run` returned, the transcript lines and the replay script's body lines (without the header).
 */
async function recording(run) {
  const { VirtualScheduler } = await import(`${ROOT}build/host/vm/scheduler.js`);
  const { Flash } = await import(`${ROOT}build/host/vm/flash.js`);
  const transcript = [];
  const inputs = [];
  const setups = [];
  const randomBytes = [];
  let scheduler;
  let flashSnapshot;
  let boot = 0;
  let ticks = 0;
  let insideImport = false;
  let booted = false;
  let macSeen;

  const restore = [];
  const patch = (target, name, wrapper) => {
    const original = target[name];
    target[name] = wrapper(original);
    restore.push(() => {
      target[name] = original;
    });
  };
  for (const method of ["now", "after", "run", "step"]) {
    patch(VirtualScheduler.prototype, method, (original) => function (...args) {
      scheduler = this;
      return original.apply(this, args);
    });
  }
  // The flash the module sees first: its contents before the module's first flash call (the replay writes the
  // server URL and the password into it before the rabbit boots).
  const flashRead = Flash.prototype.read;
  for (const method of ["read", "write"]) {
    patch(Flash.prototype, method, (original) => function (...args) {
      if (insideImport && flashSnapshot === undefined) {
        flashSnapshot = new Uint8Array(4096).fill(0xff);
        flashSnapshot.set(flashRead.call(this, 0, 4096));
      }
      return original.apply(this, args);
    });
  }

  const at = () => `${scheduler ? scheduler.now() : 0} ${boot} ${ticks}`;
  const RealInstance = WebAssembly.Instance;

  class RecordingInstance extends RealInstance {
    constructor(module, imports) {
      let raw;
      const memory = () => new Uint8Array(raw.memory.buffer);
      const bytes = (pointer, length) => memory().slice(pointer, pointer + length);
      const vm = imports.vm ?? {};
      const env = imports.env ?? {};
      const wrap = (name, describe) => (...args) => {
        const saved = insideImport;
        insideImport = true;
        try {
          const result = (name === "abort" ? env.abort : vm[name])(...args);
          transcript.push(`${at()} < ${name}${describe(args, result)}`);
          return result;
        } finally {
          insideImport = saved;
        }
      };
      const value = (result) => ` -> ${result | 0}`;
      const wrappedVm = {
        uart_write: wrap("uart_write", ([p, l]) => ` ${quote(bytes(p, l))}`),
        time_ms: wrap("time_ms", (_, r) => value(r)),
        rand: wrap("rand", (_, r) => value(r)),
        srand: wrap("srand", ([s]) => ` ${s | 0}`),
        random_bytes: wrap("random_bytes", ([p, l]) => {
          randomBytes.push(bytes(p, l));
          return ` ${l | 0} -> ${hex(bytes(p, l))}`;
        }),
        mac_address: wrap("mac_address", ([p]) => {
          macSeen = hex(bytes(p, 6));
          return ` -> ${macSeen}`;
        }),
        flash_read: wrap("flash_read", ([o, p, l]) => ` ${o | 0} ${l | 0} -> ${hex(bytes(p, l))}`),
        flash_write: wrap("flash_write", ([o, p, l]) => ` ${o | 0} ${quote(bytes(p, l))}`),
        tcp_open: wrap("tcp_open", ([a, al, port], r) => ` ${quote(bytes(a, al))} ${port | 0}${value(r)}`),
        tcp_send: wrap("tcp_send", ([h, p, l, s], r) => ` ${h | 0} ${l | 0} ${s | 0} ${quote(s < l ? bytes(p + s, l - s) : [])}${value(r)}`),
        tcp_close: wrap("tcp_close", ([h]) => ` ${h | 0}`),
        http_get: wrap("http_get", ([u, ul, w], r) => ` ${quote(bytes(u, ul))} ${w | 0}${value(r)}`),
        dns_query: wrap("dns_query", ([t, n, nl], r) => ` ${t | 0} ${quote(bytes(n, nl))}${value(r)}`),
        led_set: wrap("led_set", ([i, rgb]) => ` ${i | 0} ${rgb | 0}`),
        reboot: wrap("reboot", () => ""),
        report: wrap("report", ([k, p, l]) => ` ${k | 0} ${quote(bytes(p, l))}`),
      };
      for (const name of Object.keys(vm)) {
        if (!(name in wrappedVm)) throw new Error(`record: the module imports vm.${name}, which the recorder does not know`);
      }
      const wrappedImports = { ...imports, vm: wrappedVm, env: { ...env, abort: wrap("abort", (args) => ` ${args.map((a) => a | 0).join(" ")}`) } };
      super(module, wrappedImports);
      raw = Reflect.get(RealInstance.prototype, "exports", this);
      boot++;
      ticks = 0;
      booted = false;
      transcript.push(`${at()} instantiate`);
      const exportsObject = {};
      for (const [name, item] of Object.entries(raw)) {
        if (typeof item !== "function") {
          exportsObject[name] = item;
          continue;
        }
        exportsObject[name] = (...args) => {
          const ints = args.map((a) => a | 0);
          const deliver = DELIVERIES[name]?.(ints) ?? 0;
          const input = raw.IO_IN.value;
          const payload = deliver > 0 ? memory().slice(input, input + deliver) : undefined;
          if (name === "tick") ticks++;
          transcript.push(`${at()} > ${name}${ints.map((a) => ` ${a}`).join("")}${payload ? ` ${quote(payload)}` : ""}`);
          if (name === "boot") {
            booted = true;
          } else if (name !== "tick") {
            // Every other call is an input, even one that only reads (rabbit_status): the C host makes it too, so
            // that both transcripts have it.
            const line = `${name}${ints.map((a) => ` ${a}`).join("")}${payload ? ` ${hex(payload)}` : ""}`;
            if (!booted) setups.push(`setup ${boot} ${line}`);
            else inputs.push(`${at()} ${line}`);
          }
          const result = item(...args);
          if (result !== undefined) transcript.push(`${at()} = ${name} ${result | 0}`);
          return result;
        };
      }
      Object.defineProperty(this, "exports", { value: Object.freeze(exportsObject), enumerable: true });
    }
  }

  WebAssembly.Instance = RecordingInstance;
  let returned;
  try {
    returned = await run();
  } finally {
    WebAssembly.Instance = RealInstance;
    for (const undo of restore.reverse()) undo();
  }
  if (boot === 0) throw new Error("record: the Node host made no module instance through new WebAssembly.Instance()");
  return {
    returned,
    transcript,
    setups,
    inputs,
    randomBytes,
    flash: flashSnapshot,
    mac: macSeen,
    end: at(),
  };
}

/** The seed replay's options (README: "Reproduce the founding log exactly"; host/replay.ts, SEED_REPLAY_OPTIONS). */
export const SEED = {
  log: `${ROOT}reference/seed/nabaztag-openfire-debug.log`,
  options: (await import(`${ROOT}build/host/replay.js`)).SEED_REPLAY_OPTIONS,
};

/**
 * Replays `log` in Node with `options` (host/replay.ts ReplayOptions) and returns the Node result, the replay
 * script for the C host and the Node transcript (both as text, newline-terminated lines).
 */
export async function recordReplay(log = SEED.log, options = SEED.options) {
  const { replay } = await import(`${ROOT}build/host/replay.js`);
  const text = readFileSync(log, "latin1");
  const recorded = await recording(() => replay({ ...options, log: text }));
  const header = [
    "nabaztag-vm replay script 1",
    `mac ${recorded.mac ?? "000000000000"}`,
    `rng-state ${options.rngState === undefined ? "none" : options.rngState | 0}`,
    "tick-ms 50",
    "reboot-delay-ms 5000",
  ];
  const flash = recorded.flash ?? new Uint8Array(4096).fill(0xff);
  // The flash as runs of bytes that are not erased (0xFF), 64 at most per line.
  for (let offset = 0; offset < flash.length; ) {
    if (flash[offset] === 0xff) {
      offset++;
      continue;
    }
    let end = offset;
    while (end < flash.length && flash[end] !== 0xff && end - offset < 64) end++;
    header.push(`flash ${offset} ${hex(flash.subarray(offset, end))}`);
    offset = end;
  }
  for (const bytes of recorded.randomBytes) header.push(`random-bytes ${hex(bytes)}`);
  const script = [...header, ...recorded.setups, ...recorded.inputs, `end ${recorded.end}`];
  return {
    result: recorded.returned,
    script: `${script.join("\n")}\n`,
    transcript: `${recorded.transcript.join("\n")}\n`,
    inputs: recorded.inputs.length,
  };
}
