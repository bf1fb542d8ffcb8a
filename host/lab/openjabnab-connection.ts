// One rabbit's connection to the lab in the `openjabnab` dialect: every socket read goes to OpenJabNab's machine
// (openjabnab.ts) as one piece, as OpenJabNab's readAll hands it over; its answer is one write; where OpenJabNab
// disconnects, the socket is dropped at once (QTcpSocket::abort, no </stream:stream>).

import type { Accounts } from "./accounts.js";
import type { ConnectionDeadlines, LabSocket } from "./lab-socket.js";
import { OjnMachine, ojnPacketMessage, summarize, type OjnEvent, type OjnPlatform } from "./openjabnab.js";
import type { LabPeer, LabServerSide } from "./lab-peer.js";

/** The platform OpenJabNab's machine sees: the lab's accounts (stored XORed back, only if none is stored). */
function accountsPlatform(domain: string, accounts: Accounts): OjnPlatform {
  return {
    domain,
    passwordOf: (mac) => accounts.get(mac)?.password,
    storeIfNone: (mac, registered) => accounts.register(mac, registered),
  };
}

/** OpenJabNab numbers its packet messages with one counter for the whole server (XmppHandler::msgNb, 16 bits). */
let messageNumber = 0;

export class OjnConnection implements LabPeer {
  private readonly machine: OjnMachine;
  private readonly deadlines: ConnectionDeadlines;
  private closed = false;

  constructor(private readonly lab: LabServerSide, private readonly socket: LabSocket) {
    this.machine = new OjnMachine(accountsPlatform(lab.options.domain, lab.options.accounts), () => lab.random());
    lab.emit({ type: "connected", remote: socket.remote });
    this.deadlines = lab.deadlines(socket, () => this.mac, () => this.destroy());
    socket.onData((data: Buffer) => {
      this.deadlines.activity();
      if (data.length > lab.limits.readBytesMax) {
        lab.emit({ type: "limit", mac: this.mac, remote: socket.remote, reason: `closed: a read larger than ${lab.limits.readBytesMax} bytes` });
        this.destroy();
        return;
      }
      this.read(data.toString("latin1"));
    });
    socket.onClosed(() => {
      this.deadlines.stop();
      if (!this.closed) lab.emit({ type: "disconnected", mac: this.mac });
      this.closed = true;
    });
  }

  /** The rabbit once logged in (OpenJabNab's bunny with this handler). */
  get mac(): string | undefined {
    return this.machine.authenticated ? this.machine.bunny : undefined;
  }

  get resource(): string | undefined {
    return this.machine.authenticated ? this.machine.resource : undefined;
  }

  jid(resource: string): string {
    return `${this.machine.bunny}@${this.lab.options.domain}/${resource}`;
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.deadlines.stop();
    this.lab.emit({ type: "disconnected", mac: this.machine.bunny });
    this.socket.destroy();
  }

  sendPacket(payload: Buffer): void {
    if (this.closed || !this.mac) return;
    const resource = this.machine.resource ?? "";
    this.lab.emit({ type: "packet-sent", mac: this.mac, resource, base64: payload.toString("base64") });
    this.socket.write(Buffer.from(ojnPacketMessage(this.lab.options.domain, this.mac, resource, messageNumber, payload), "latin1"));
    messageNumber = (messageNumber + 1) & 0xffff;
  }

  private read(data: string): void {
    if (this.closed) return;
    const outcome = this.machine.feed(data);
    for (const event of outcome.events) this.onEvent(event);
    if (outcome.close) {
      this.lab.emit({ type: "refused", mac: this.machine.bunny, after: summarize(data), reason: outcome.close });
      this.destroy();
      return;
    }
    if (outcome.unhandled) this.lab.emit({ type: "unhandled", mac: this.mac, what: outcome.unhandled });
    if (outcome.answer !== undefined) this.socket.write(Buffer.from(outcome.answer, "latin1"));
  }

  private onEvent(event: OjnEvent): void {
    if (event.type === "authenticating") {
      // Bunny::Authenticating: a connection this rabbit was logged in on before is dropped.
      const previous = this.lab.connectionOf(event.mac);
      if (previous && previous !== this) previous.destroy();
      return;
    }
    if (event.type === "authenticated") {
      this.deadlines.login();
      return;
    }
    this.lab.emit(event);
  }
}
