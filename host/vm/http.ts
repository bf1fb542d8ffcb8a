// The rabbit's HTTP GET (spec §2, platform.md §1): URLs "[http://]host[:port]/path"; only a 200 counts (302 is
// followed twice at most); the body is whatever follows the headers until the server closes. Real (node:http) or
// virtual (a function answers, through the scheduler).

import { request } from "node:http";
import type { Scheduler } from "./scheduler.js";

export interface HttpAnswer {
  /** HTTP status, or -1 when no answer came (refused, DNS, timeout). */
  status: number;
  body: Uint8Array;
}

export interface HttpClient {
  get(url: string, done: (answer: HttpAnswer) => void): void;
}

/** "host[:port]/path" with or without "http://". */
export function splitUrl(url: string): { host: string; port: number; path: string } | undefined {
  const match = /^(?:http:\/\/)?([^/:]+)(?::(\d+))?(\/.*)?$/.exec(url);
  if (!match) return undefined;
  return { host: match[1]!, port: match[2] ? Number(match[2]) : 80, path: match[3] ?? "/" };
}

export class RealHttp implements HttpClient {
  constructor(private readonly timeoutMs = 10000) {}

  get(url: string, done: (answer: HttpAnswer) => void, redirects = 2): void {
    const target = splitUrl(url);
    if (!target) {
      done({ status: -1, body: new Uint8Array() });
      return;
    }
    let finished = false;
    const finish = (answer: HttpAnswer) => {
      if (finished) return;
      finished = true;
      done(answer);
    };
    // The rabbit's own request headers (HTTP/1.0 semantics: the answer ends when the server closes).
    const req = request({
      host: target.host,
      port: target.port,
      path: target.path,
      method: "GET",
      headers: { "User-Agent": "MTL", Pragma: "no-cache", "Icy-MetaData": "1", Host: target.host, Connection: "close" },
      timeout: this.timeoutMs,
    });
    req.on("response", (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        const status = response.statusCode ?? -1;
        const location = response.headers.location;
        if (status === 302 && location && redirects > 0) {
          finished = true;
          this.get(location, done, redirects - 1);
          return;
        }
        finish({ status, body: Buffer.concat(chunks) });
      });
      response.on("error", () => finish({ status: -1, body: new Uint8Array() }));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => finish({ status: -1, body: new Uint8Array() }));
    req.end();
  }
}

export class VirtualHttp implements HttpClient {
  constructor(
    private readonly scheduler: Scheduler,
    private readonly handler: (url: string) => HttpAnswer | undefined,
    private readonly latency = 0,
  ) {}

  get(url: string, done: (answer: HttpAnswer) => void): void {
    this.scheduler.after(this.latency, () => done(this.handler(url) ?? { status: -1, body: new Uint8Array() }));
  }
}
