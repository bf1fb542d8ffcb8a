// The fleet's own lab, in a process of its own (forked by fleet.ts), so that the platform's CPU is not the fleet's:
// sized for the fleet (connections, per-address bound), counting what it sees instead of printing it.
// In: {type: "start", rabbits}, {type: "stop"}. Out: "ready" (its URL), "stats" (after stop, then exit 0), "fatal".

import { startLab, type Lab } from "../lab/lab.js";
import type { LabEvent } from "../lab/xmpp-server.js";
import type { LabHttpEvent } from "../lab/http-server.js";
import { FLEET_HTTP_IN_FLIGHT_MAX, RABBITS_PER_XMPP_PORT } from "./rabbits.js";
import { hexXor } from "../lab/accounts.js";
import type { LabCommand, LabMessage } from "./protocol.js";
import { fleetMac, fleetPassword } from "./rabbits.js";

function send(message: LabMessage): void {
  process.send?.(message);
}

/** The accounts of rabbits that registered long ago: the lab then holds fleetPassword(MAC) for each. */
function preload(lab: Lab, registered: NonNullable<LabCommand["registered"]>): void {
  const base = BigInt(`0x${registered.macBase}`);
  for (const range of registered.ranges) {
    for (let i = range.first; i < range.first + range.count; i++) {
      const mac = fleetMac(base, i);
      // A firmware rabbit registers its password XORed with its MAC; the lab keeps the XOR undone.
      lab.accounts.register(mac, hexXor(fleetPassword(mac), mac));
    }
  }
}

async function run(command: LabCommand): Promise<void> {
  const { rabbits, workers } = command;
  const counts = { locateCalls: 0, logins: 0, registrations: 0, refusals: 0, connections: 0, connectionsMax: 0 };
  const onEvent = (event: LabEvent | LabHttpEvent) => {
    switch (event.type) {
      case "locate":
        counts.locateCalls++;
        break;
      case "online":
        counts.logins++;
        break;
      case "registered":
        counts.registrations++;
        break;
      case "register-refused":
      case "login-failed":
      case "refused":
        counts.refusals++;
        break;
      case "connected":
        counts.connections++;
        counts.connectionsMax = Math.max(counts.connectionsMax, counts.connections);
        break;
      case "disconnected":
        counts.connections--;
        break;
    }
  };
  const lab: Lab = await startLab({
    onEvent,
    onProblem: (message) => send({ type: "fatal", message: `the lab: ${message}` }),
    // Every rabbit connected at once, and room for reconnects before the old connection is gone, all from 127.0.0.1.
    xmppLimits: { connectionsMax: rabbits + 1024, connectionsPerAddressMax: rabbits + 1024 },
    httpConnectionsMax: FLEET_HTTP_IN_FLIGHT_MAX * workers + 64,
    accountsMax: rabbits + 1024,
    // The mechanism the rabbits are told to use, offered first.
    mechanisms: command.sasl && command.sasl !== "none" ? [...new Set([command.sasl, "DIGEST-MD5" as const])] : undefined,
  });
  if (command.registered) preload(lab, command.registered);
  const xmppPorts = [lab.xmppPort];
  while (xmppPorts.length * RABBITS_PER_XMPP_PORT < rabbits) xmppPorts.push(await lab.xmpp.listenAlso(0, lab.host));
  send({ type: "ready", platformUrl: lab.platformUrl, xmppPorts });
  process.on("message", (message: { type: string }) => {
    if (message.type !== "stop") return;
    const usage = process.cpuUsage();
    send({ type: "stats", ...counts, cpuMs: Math.round((usage.user + usage.system) / 1000) });
    void lab.close().finally(() => {
      process.disconnect?.();
      setImmediate(() => process.exit(0));
    });
  });
}

process.on("message", (message: LabCommand | { type: "stop" }) => {
  if (message.type !== "start") return;
  run(message).catch((error: Error) => {
    send({ type: "fatal", message: `the lab could not start: ${error.message}` });
    process.exit(1);
  });
});
process.on("disconnect", () => process.exit(0));
