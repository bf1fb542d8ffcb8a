// One rabbit's web page for the CLI (`run --web PORT`, `start`): the view is made before the rabbit boots, so that
// the page knows everything from the first event on; the server is started on loopback before the rabbit runs, so
// that a port in use is said before anything else happens.

import type { LabHttpEvent } from "../lab/http-server.js";
import type { Lab } from "../lab/lab.js";
import type { LabEvent } from "../lab/xmpp-server.js";
import type { RabbitListener } from "../rabbit.js";
import { webLab, WebServer, type RabbitControl } from "./server.js";
import { RabbitView } from "./state.js";

export class RabbitPage {
  readonly view: RabbitView;
  private server: WebServer | undefined;

  /** `mac`: 12 hex digits; `secrets`: what to mask (the password and its registered form). */
  constructor(mac: string, secrets: () => string[]) {
    this.view = new RabbitView({ mac, secrets });
  }

  /** The rabbit's events, for the page: combine with the other listeners. */
  get listener(): RabbitListener {
    return this.view.listener;
  }

  /** Serves the page on 127.0.0.1:`port` (0: any free port); resolves with its URL. */
  async start(port: number, control: () => RabbitControl | undefined, lab?: Lab): Promise<string> {
    const server = new WebServer({ rabbits: [{ view: this.view, control }], lab: lab && webLab(lab) });
    await server.listen(port);
    this.server = server;
    return server.url;
  }

  /** A lab event, for the lab's side of the page. */
  labEvent(event: LabEvent | LabHttpEvent): void {
    this.server?.labEvent(event);
  }

  async close(): Promise<void> {
    this.view.stopped();
    await this.server?.close();
  }
}
