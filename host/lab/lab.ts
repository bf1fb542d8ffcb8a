// The embedded lab platform: HTTP (locate.jsp, sendMailXMPP.jsp, the lab API) and XMPP on loopback. The default
// peer for demos and tests. It shares nothing with the rabbit but the wire.
//
// Safe to leave running: it listens on loopback unless told otherwise, its state-changing API needs a token (random
// per start, written to a 0600 file when one is named), and every input is bounded (limits.ts).

import { randomBytes } from "node:crypto";
import { writePrivateFileAtomic } from "../files.js";
import { Accounts } from "./accounts.js";
import { LabHttpServer, type LabHttpEvent } from "./http-server.js";
import type { LabSaslMechanism } from "./sasl.js";
import { LabXmppServer, type LabDialect, type LabEvent, type LabXmppLimits } from "./xmpp-server.js";

export interface LabOptions {
  /** 0: any free port. */
  httpPort?: number;
  xmppPort?: number;
  /** The XMPP domain (default "localhost", which a rabbit resolves without any DNS set-up). */
  domain?: string;
  /** Where the accounts are kept (default: in memory only). */
  accountsFile?: string;
  /** How strict the XMPP side is (default tolerant; openjabnab: exactly OpenJabNab). */
  dialect?: LabDialect;
  /**
   * The tolerant dialect's SASL mechanisms, in the order offered, from "SCRAM-SHA-1", "DIGEST-MD5", "PLAIN" (default
   * ["DIGEST-MD5"], the firmware's). Ignored by the openjabnab dialect.
   */
  mechanisms?: readonly LabSaslMechanism[];
  /** The address to listen on (default 127.0.0.1). */
  host?: string;
  /** Where to write the API token (mode 0600); default: nowhere (it is in Lab.token). */
  tokenFile?: string;
  onEvent?: (event: LabEvent | LabHttpEvent) => void;
  /** Problems with the accounts file (corrupt at start, a failed write). */
  onProblem?: (message: string) => void;
  /** Other bounds than limits.ts's (tests shorten deadlines; a fleet may allow more connections). */
  xmppLimits?: Partial<LabXmppLimits>;
  httpHeadersTimeoutMs?: number;
  httpConnectionsMax?: number;
  /** Accounts kept when there is no accounts file (default ACCOUNTS_MAX; a fleet's lab holds one per rabbit). */
  accountsMax?: number;
}

/** Loopback addresses: anything else exposes the lab to the network. */
export function isLoopback(host: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(host) || host === "::1" || host === "localhost";
}

export interface Lab {
  httpPort: number;
  xmppPort: number;
  domain: string;
  dialect: LabDialect;
  host: string;
  /** The API token (Authorization: Bearer TOKEN). */
  token: string;
  /** The URL to configure a rabbit with ("the Violet platform URL"). */
  platformUrl: string;
  accounts: Accounts;
  xmpp: LabXmppServer;
  http: LabHttpServer;
  close(): Promise<void>;
}

export async function startLab(options: LabOptions = {}): Promise<Lab> {
  const domain = options.domain ?? "localhost";
  const host = options.host ?? "127.0.0.1";
  // A wildcard address is reached from here as loopback.
  const publicHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  const token = randomBytes(16).toString("hex");
  if (options.tokenFile) writePrivateFileAtomic(options.tokenFile, Buffer.from(`${token}\n`));
  const accounts = new Accounts(options.accountsFile, { onProblem: options.onProblem, accountsMax: options.accountsMax });
  const xmpp = new LabXmppServer({ domain, accounts, dialect: options.dialect, mechanisms: options.mechanisms, onEvent: options.onEvent, limits: options.xmppLimits });
  const xmppPort = await xmpp.listen(options.xmppPort ?? 0, host);
  const http = new LabHttpServer({ publicHost, domain, xmppPort: () => xmppPort, accounts, xmpp, token, onEvent: options.onEvent, headersTimeoutMs: options.httpHeadersTimeoutMs, connectionsMax: options.httpConnectionsMax });
  let httpPort: number;
  try {
    httpPort = await http.listen(options.httpPort ?? 0, host);
  } catch (error) {
    await xmpp.close();
    throw error;
  }
  return {
    httpPort,
    xmppPort,
    domain,
    dialect: xmpp.dialect,
    host,
    token,
    platformUrl: `http://${publicHost.includes(":") ? `[${publicHost}]` : publicHost}:${httpPort}/vl`,
    accounts,
    xmpp,
    http,
    async close() {
      await Promise.all([xmpp.close(), http.close()]);
    },
  };
}

/** One line per lab event, for people. */
export function describeLabEvent(event: LabEvent | LabHttpEvent): string | undefined {
  switch (event.type) {
    case "locate":
      return `${event.mac} asked locate.jsp`;
    case "failure-report":
      return `${event.mac} reported ${event.reason}: ${event.forgotten ? "its password is forgotten, it may register again" : `its password is kept (${event.why})`}`;
    case "request":
      return `HTTP ${event.status} for ${event.path}: ${event.why}`;
    case "limit":
      return `${event.mac ?? event.remote}: ${event.reason}`;
    case "registered":
      return `${event.mac} registered`;
    case "register-refused":
      return `${event.mac} tried to register again: refused (a password is stored)`;
    case "login":
      return `${event.mac} logged in (${event.mechanism})`;
    case "login-failed":
      return `${event.mac} failed to log in: ${event.reason}`;
    case "bound":
      return `${event.mac} bound ${event.resource}`;
    case "sources":
      return `${event.mac} asked for its sources: init packet sent (ears 0/0, nose off, wake)`;
    case "online":
      return `${event.mac} is online as ${event.resource}`;
    case "unbound":
      return `${event.mac} unbound ${event.resource}${event.resource === "boot" ? ": boot finished" : ""}`;
    case "message":
      return `${event.mac} sent ${event.payload}`;
    case "packet-sent":
      return `packet to ${event.mac}/${event.resource}: ${event.base64}`;
    case "disconnected":
      return event.mac ? `${event.mac} disconnected` : undefined;
    case "refused":
      return `${event.mac ?? "a rabbit (not logged in)"}: connection closed after ${event.after}, as OpenJabNab closes it ("${event.reason}")`;
    case "unhandled":
      return `${event.mac ?? "a rabbit"}: left unanswered as OpenJabNab leaves it (${event.what})`;
    case "strict-note":
      return `${event.mac ?? "a rabbit"}: ${event.note}`;
    default:
      return undefined;
  }
}
