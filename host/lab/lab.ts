// The embedded lab platform: HTTP (locate.jsp, sendMailXMPP.jsp, the lab API) and XMPP on loopback. The default
// peer for demos and tests. It shares nothing with the rabbit but the wire.

import { Accounts } from "./accounts.js";
import { LabHttpServer, type LabHttpEvent } from "./http-server.js";
import { LabXmppServer, type LabDialect, type LabEvent } from "./xmpp-server.js";

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
  onEvent?: (event: LabEvent | LabHttpEvent) => void;
}

export interface Lab {
  httpPort: number;
  xmppPort: number;
  domain: string;
  dialect: LabDialect;
  /** The URL to configure a rabbit with ("the Violet platform URL"). */
  platformUrl: string;
  accounts: Accounts;
  xmpp: LabXmppServer;
  http: LabHttpServer;
  close(): Promise<void>;
}

export async function startLab(options: LabOptions = {}): Promise<Lab> {
  const domain = options.domain ?? "localhost";
  const accounts = new Accounts(options.accountsFile);
  const xmpp = new LabXmppServer({ domain, accounts, dialect: options.dialect, onEvent: options.onEvent });
  const xmppPort = await xmpp.listen(options.xmppPort ?? 0);
  const http = new LabHttpServer({ publicHost: "127.0.0.1", domain, xmppPort: () => xmppPort, accounts, xmpp, onEvent: options.onEvent });
  let httpPort: number;
  try {
    httpPort = await http.listen(options.httpPort ?? 0);
  } catch (error) {
    await xmpp.close();
    throw error;
  }
  return {
    httpPort,
    xmppPort,
    domain,
    dialect: xmpp.dialect,
    platformUrl: `http://127.0.0.1:${httpPort}/vl`,
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
      return `${event.mac} reported ${event.reason} (its password is forgotten)`;
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
