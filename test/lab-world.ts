// Rabbits and the lab platform in one process on virtual time: the lab's real XMPP and HTTP code on the virtual
// network, each rabbit with its own flash and recorder. For the tests of the lab's dialects.

import type { LabHttpEvent } from "../host/lab/http-server.js";
import type { LabSaslMechanism } from "../host/lab/sasl.js";
import { virtualLab, type VirtualLab } from "../host/lab/virtual-lab.js";
import type { LabDialect, LabEvent } from "../host/lab/xmpp-server.js";
import type { Profile, QuirkSettings } from "../host/quirks.js";
import { combineListeners, Rabbit, type RabbitListener, type RegistrationForm, type SaslMechanism } from "../host/rabbit.js";
import { VirtualResolver } from "../host/vm/dns.js";
import { Flash } from "../host/vm/flash.js";
import { VirtualHttp } from "../host/vm/http.js";
import { VirtualNetwork } from "../host/vm/network.js";
import { SecureRandom, VmRandom } from "../host/vm/random.js";
import { VirtualScheduler } from "../host/vm/scheduler.js";

export interface WorldRabbit {
  rabbit: Rabbit;
  flash: Flash;
  uart: string[];
  /** What the rabbit sent, one entry per write. */
  sent: string[];
  received: string[];
  reports: { kind: string; text: string }[];
  reboots: number;
}

export interface LabWorld {
  scheduler: VirtualScheduler;
  lab: VirtualLab;
  /** Lab events, described as the CLI prints them: "type mac detail". */
  events: (LabEvent | LabHttpEvent)[];
  addRabbit(options: { mac: string; profile?: Profile; registration?: RegistrationForm; quirks?: QuirkSettings; sasl?: SaslMechanism; password?: string; listener?: RabbitListener }): WorldRabbit;
  run(ms: number, until?: () => boolean): void;
}

/** `mechanisms`: the tolerant lab's SASL offer (default: its own, DIGEST-MD5). */
export function labWorld(dialect: LabDialect, setup: { mechanisms?: readonly LabSaslMechanism[] } = {}): LabWorld {
  const scheduler = new VirtualScheduler();
  const network = new VirtualNetwork(scheduler);
  const events: (LabEvent | LabHttpEvent)[] = [];
  const lab = virtualLab({ network, scheduler, dialect, mechanisms: setup.mechanisms, onEvent: (event) => events.push(event) });
  const http = new VirtualHttp(scheduler, (url) => lab.answer(url));
  const resolver = new VirtualResolver(scheduler, { [lab.domain]: lab.address });
  let seed = 0;
  return {
    scheduler,
    lab,
    events,
    addRabbit(options) {
      const flash = new Flash();
      flash.setServerUrl(lab.platformUrl);
      if (options.password) flash.setPassword(options.password);
      const world = { flash, uart: [] as string[], sent: [] as string[], received: [] as string[], reports: [] as WorldRabbit["reports"], reboots: 0 };
      const latin1 = (bytes: Uint8Array) => Buffer.from(bytes).toString("latin1");
      const recorder: RabbitListener = {
        uart: (line) => world.uart.push(line),
        sent: (_handle, bytes) => world.sent.push(latin1(bytes)),
        received: (_handle, bytes) => world.received.push(latin1(bytes)),
        report: (kind, bytes) => world.reports.push({ kind, text: latin1(bytes) }),
        rebooting: () => world.reboots++,
      };
      const rabbit = new Rabbit({
        mac: options.mac,
        profile: options.profile ?? "firmware",
        registration: options.registration,
        quirks: options.quirks,
        sasl: options.sasl,
        flash,
        scheduler,
        network,
        http,
        resolver,
        random: new VmRandom(),
        secure: new SecureRandom(`world-${seed++}`),
        variant: "debug",
        listener: options.listener ? combineListeners(recorder, options.listener) : recorder,
      });
      rabbit.start();
      return Object.assign(world, { rabbit });
    },
    run(ms, until = () => false) {
      scheduler.run(until, scheduler.now() + ms);
    },
  };
}
