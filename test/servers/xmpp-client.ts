// A second XMPP client for the integration tests, deliberately small and independent of the rabbit and of the
// lab: raw TCP, in-band registration, SASL PLAIN or (where PLAIN is hidden, as Prosody does without TLS) SCRAM-SHA-1
// written here with node:crypto, a bound resource, and waiting for stanzas.

import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";

const b64 = (data: Buffer | string) => Buffer.from(data).toString("base64");
const unb64 = (text: string) => Buffer.from(text, "base64");

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
    if (client.buffer.includes("<mechanism>PLAIN</mechanism>")) {
      client.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${b64(`\0${user}\0${password}`)}</auth>`);
      await client.waitFor(/<success[^>]*\/>|<success[^>]*>.*?<\/success>/, 10_000);
    } else {
      await client.scramSha1(user, password);
    }
    client.buffer = "";
    client.send(header);
    await client.waitFor(/<\/stream:features>/, 10_000);
    client.send(`<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${resource}</resource></bind></iq>`);
    client.jid = (await client.waitFor(/<jid>([^<]+)<\/jid>/, 10_000))[1]!;
    client.send("<presence/>");
    return client;
  }

  /** Creates an account by in-band registration (XEP-0077) on a stream of its own. */
  static async register(port: number, domain: string, user: string, password: string): Promise<void> {
    const client = new TestClient();
    await client.open(port);
    client.send(`<?xml version='1.0'?><stream:stream to='${domain}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`);
    await client.waitFor(/<\/stream:features>/, 10_000);
    client.send(`<iq type='set' id='reg1'><query xmlns='jabber:iq:register'><username>${user}</username><password>${password}</password></query></iq>`);
    const answer = await client.waitFor(/<iq\b[^>]*\bid='reg1'[^>]*>/, 10_000);
    client.close();
    if (!/type='result'/.test(answer[0])) throw new Error(`registering ${user}: ${answer[0]}`);
  }

  /** SCRAM-SHA-1 (RFC 5802), the server's signature checked. */
  private async scramSha1(user: string, password: string): Promise<void> {
    const nonce = randomBytes(18).toString("base64");
    const clientFirstBare = `n=${user.replace(/=/g, "=3D").replace(/,/g, "=2C")},r=${nonce}`;
    this.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>${b64(`n,,${clientFirstBare}`)}</auth>`);
    const serverFirst = unb64((await this.waitFor(/<challenge[^>]*>([^<]*)<\/challenge>/, 10_000))[1]!).toString();
    const fields = Object.fromEntries(serverFirst.split(",").map((field) => [field[0], field.slice(2)]));
    if (!fields.r?.startsWith(nonce)) throw new Error(`SCRAM: the server's nonce does not extend ours: ${serverFirst}`);
    const salted = pbkdf2Sync(password, unb64(fields.s!), Number(fields.i), 20, "sha1");
    const clientKey = createHmac("sha1", salted).update("Client Key").digest();
    const withoutProof = `c=biws,r=${fields.r}`;
    const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
    const signature = createHmac("sha1", createHash("sha1").update(clientKey).digest()).update(authMessage).digest();
    const proof = Buffer.from(clientKey.map((byte, i) => byte ^ signature[i]!));
    this.send(`<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>${b64(`${withoutProof},p=${proof.toString("base64")}`)}</response>`);
    const success = (await this.waitFor(/<success[^>]*>([^<]*)<\/success>/, 10_000))[1]!;
    const serverKey = createHmac("sha1", salted).update("Server Key").digest();
    const expected = createHmac("sha1", serverKey).update(authMessage).digest("base64");
    if (unb64(success).toString() !== `v=${expected}`) throw new Error("SCRAM: wrong server signature");
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
