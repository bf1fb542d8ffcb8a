// A second XMPP client for the integration tests, deliberately small and independent of the rabbit and of the
// lab: raw TCP, SASL PLAIN (the test servers offer it on loopback), a bound resource, and waiting for stanzas.

import { connect, type Socket } from "node:net";

export class TestClient {
  private socket!: Socket;
  private buffer = "";
  private waiters: { pattern: RegExp; resolve: (match: RegExpExecArray) => void }[] = [];
  jid = "";

  static async login(port: number, domain: string, user: string, password: string, resource = "tester"): Promise<TestClient> {
    const client = new TestClient();
    await client.open(port);
    const header = `<?xml version='1.0'?><stream:stream to='${domain}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`;
    client.send(header);
    await client.waitFor(/<\/stream:features>/, 10_000);
    const plain = Buffer.from(`\0${user}\0${password}`).toString("base64");
    client.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${plain}</auth>`);
    await client.waitFor(/<success[^>]*\/>|<success[^>]*>.*?<\/success>/, 10_000);
    client.buffer = "";
    client.send(header);
    await client.waitFor(/<\/stream:features>/, 10_000);
    client.send(`<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${resource}</resource></bind></iq>`);
    client.jid = (await client.waitFor(/<jid>([^<]+)<\/jid>/, 10_000))[1]!;
    client.send("<presence/>");
    return client;
  }

  private open(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket = connect(port, "127.0.0.1", () => resolve());
      this.socket.once("error", reject);
      this.socket.on("data", (data: Buffer) => {
        this.buffer += data.toString("utf8");
        this.check();
      });
    });
  }

  private check(): void {
    for (const waiter of [...this.waiters]) {
      const match = waiter.pattern.exec(this.buffer);
      if (match) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(match);
      }
    }
  }

  send(text: string): void {
    this.socket.write(text);
  }

  /** Waits until what the server sent matches `pattern` (searched from the start of everything received). */
  waitFor(pattern: RegExp, ms: number): Promise<RegExpExecArray> {
    const match = pattern.exec(this.buffer);
    if (match) return Promise.resolve(match);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${ms} ms; received:\n${this.buffer.slice(-2000)}`)), ms);
      this.waiters.push({ pattern, resolve: (found) => { clearTimeout(timer); resolve(found); } });
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
