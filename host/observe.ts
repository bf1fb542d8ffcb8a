// What `nabaztag-vm run` prints: the rabbit's [vm] log for people, or one JSON event per line for scripts. Every
// line goes through the same mask, so the rabbit's password never shows unless asked for (--show-secrets).

import { describeFrame, frameText } from "./frames.js";
import type { RabbitListener } from "./rabbit.js";

export type RabbitEvent = { event: string } & Record<string, unknown>;

export interface ObserveOptions {
  json: boolean;
  /** Also the bytes in and out, in the text form. */
  verbose?: boolean;
  showSecrets?: boolean;
  /** The secrets of the moment (the password and its registered form). */
  secrets: () => string[];
  write: (line: string) => void;
}

/**
 * Replaces the secrets with stars, and so the content of any <password> element and of a SASL PLAIN <auth> (the
 * password in base64).
 */
export function maskSecrets(text: string, secrets: string[]): string {
  const stars = (_all: string, open: string, inner: string, close: string) => open + "*".repeat(inner.length) + close;
  let out = text.replace(/(<password>)([^<]*)(<\/password>)/g, stars).replace(/(<auth [^>]*mechanism=['"]PLAIN['"][^>]*>)([^<]*)(<\/auth>)/g, stars);
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join("*".repeat(secret.length));
  return out;
}

export function observe(options: ObserveOptions): RabbitListener & { emit(event: RabbitEvent): void } {
  const mask = (text: string) => (options.showSecrets ? text : maskSecrets(text, options.secrets()));
  const latin1 = (bytes: Uint8Array) => Buffer.from(bytes).toString("latin1");
  const emit = (event: RabbitEvent, text?: string) => {
    if (options.json) {
      options.write(mask(JSON.stringify({ time: new Date().toISOString(), ...event })));
    } else if (text !== undefined) {
      options.write(mask(text));
    }
  };
  return {
    emit: (event) => emit(event),
    uart: (line) => emit({ event: "uart", line }, `[vm] ${line}`),
    report: (kind, payload) => {
      const text = latin1(payload);
      switch (kind) {
        case "status":
          emit({ event: "status", status: text });
          break;
        case "state":
          emit({ event: "state", state: text });
          break;
        case "online":
          emit({ event: "online", jid: text }, `[rabbit] online as ${text}`);
          break;
        case "resource":
          emit({ event: "resource", resource: text });
          break;
        case "frame": {
          const frame = describeFrame(payload);
          emit({ event: "frame", ...frame }, `[rabbit] packet frame: ${frameText(frame)}`);
          break;
        }
        case "packet-error":
          emit({ event: "packet-error", reason: text }, `[rabbit] ${text}`);
          break;
        case "reboot":
          emit({ event: "reboot", reason: text }, `[rabbit] rebooting: ${text}`);
          break;
        default:
          emit({ event: "error", message: text }, `[rabbit] error: ${text}`);
      }
    },
    led: (index, rgb) => emit({ event: "led", index, rgb: `#${rgb.toString(16).padStart(6, "0")}` }),
    connecting: (handle, address, port) => emit({ event: "connect", handle, address, port }, options.verbose ? `[tcp] #${handle} connecting to ${address}:${port}` : undefined),
    sent: (handle, bytes) => emit({ event: "out", handle, data: latin1(bytes) }, options.verbose ? `[tcp] #${handle} >> ${latin1(bytes)}` : undefined),
    received: (handle, bytes) => emit({ event: "in", handle, data: latin1(bytes) }, options.verbose ? `[tcp] #${handle} << ${latin1(bytes)}` : undefined),
    closed: (handle, by) => emit({ event: "closed", handle, by }, options.verbose ? `[tcp] #${handle} closed by the ${by}` : undefined),
    http: (url, wantBody) => emit({ event: "http", url, answer: wantBody }),
    httpAnswered: (url, status, error) => emit({ event: "http-answer", url, status, ...(error ? { error } : {}) }, error ? `[host] GET ${url}: ${error}` : undefined),
    dns: (type, name) => emit({ event: "dns", type, name }),
    // An SRV lookup that finds nothing is the usual way to an A lookup: said only with --verbose.
    dnsFailed: (type, name, error) => emit({ event: "dns-failed", type, name, error }, type === "A" || options.verbose ? `[host] DNS ${type} ${name}: ${error}` : undefined),
    flashWritten: (offset, bytes) => emit({ event: "flash", offset, length: bytes.length }),
    booted: (count) => emit({ event: "boot", count }, count > 1 ? `[rabbit] boot #${count}` : undefined),
  };
}
