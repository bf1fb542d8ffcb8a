// The lab platform on the virtual network: the same XMPP and HTTP code as `nabaztag-vm lab`, serving rabbits in
// the same process on virtual time (tests, simulations). The rabbit reaches it through a VirtualNetwork, a
// VirtualHttp whose handler is `http` here, and a resolver that maps the domain to `address`.

import type { HttpAnswer } from "../vm/http.js";

import type { Scheduler } from "../vm/scheduler.js";
import { Accounts } from "./accounts.js";
import { LabHttpServer, type LabHttpEvent } from "./http-server.js";
import type { LabSaslMechanism } from "./sasl.js";
import { LabXmppServer, type LabDialect, type LabEvent, type LabXmppLimits, type VirtualListener } from "./xmpp-server.js";

export const VIRTUAL_LAB_HTTP_PORT = 80;
export const VIRTUAL_LAB_XMPP_PORT = 5222;

export interface VirtualLabOptions {
  network: VirtualListener;
  /** The virtual clock: the lab's deadlines run on it. */
  scheduler: Scheduler;
  /** The lab's virtual IPv4 address (default 10.0.0.1). */
  address?: string;
  domain?: string;
  dialect?: LabDialect;
  /** The tolerant dialect's SASL mechanisms (LabOptions.mechanisms). */
  mechanisms?: readonly LabSaslMechanism[];
  accounts?: Accounts;
  onEvent?: (event: LabEvent | LabHttpEvent) => void;
  /** Seeded randomness for nonces and stream ids (repeatable runs). */
  random?: () => number;
  limits?: Partial<LabXmppLimits>;
}

export interface VirtualLab {
  address: string;
  domain: string;
  accounts: Accounts;
  xmpp: LabXmppServer;
  http: LabHttpServer;
  /** The platform URL to put in a rabbit's flash. */
  platformUrl: string;
  /** The API token (a fixed one: the virtual lab is only reachable from its own process). */
  token: string;
  /** The handler for a VirtualHttp: the lab's answer to a rabbit's GET of "host[:port]/path". */
  answer(url: string): HttpAnswer | undefined;
}

export function virtualLab(options: VirtualLabOptions): VirtualLab {
  const address = options.address ?? "10.0.0.1";
  const domain = options.domain ?? "almacska";
  const accounts = options.accounts ?? new Accounts();
  const scheduler = options.scheduler;
  const timers = (ms: number, task: () => void) => {
    const timer = scheduler.after(ms, task);
    return () => scheduler.cancel(timer);
  };
  const xmpp = new LabXmppServer({ domain, accounts, dialect: options.dialect, mechanisms: options.mechanisms, onEvent: options.onEvent, timers, now: () => scheduler.now(), random: options.random, limits: options.limits });
  xmpp.listenVirtual(options.network, address, VIRTUAL_LAB_XMPP_PORT);
  const token = "virtual-lab-token";
  const http = new LabHttpServer({ publicHost: address, domain, xmppPort: () => VIRTUAL_LAB_XMPP_PORT, accounts, xmpp, token, onEvent: options.onEvent });
  http.useVirtualPort(VIRTUAL_LAB_HTTP_PORT);
  const prefix = `${address}:${VIRTUAL_LAB_HTTP_PORT}`;
  return {
    address,
    domain,
    accounts,
    xmpp,
    http,
    platformUrl: `${prefix}/vl`,
    token,
    answer(url) {
      const bare = url.replace(/^http:\/\//, "");
      if (!bare.startsWith(`${prefix}/`)) return undefined;
      const answer = http.answer({ method: "GET", target: bare.slice(prefix.length) });
      return { status: answer.status, body: Buffer.from(answer.body, "utf8") };
    },
  };
}
