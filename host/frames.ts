// Packet frames as people and scripts read them (platform.md §3). The rabbit decodes and checks packets itself and
// reports each frame (type byte, then data); this names what the frame says.

const AMBIENT_SERVICES: Record<number, string> = {
  0x00: "disable",
  0x01: "weather",
  0x02: "stocks",
  0x03: "periph",
  0x04: "left ear",
  0x05: "right ear",
  0x06: "email",
  0x07: "air",
  0x08: "nose",
  0x0e: "taichi",
};

export type FrameDescription =
  | { type: "ambient"; services: { service: string; value: number }[] }
  | { type: "mode"; mode: "sleep" | "wake" }
  | { type: "reboot" }
  | { type: "program"; length: number }
  | { type: "ping-interval"; data: string }
  | { type: string; data: string };

export function describeFrame(frame: Uint8Array): FrameDescription {
  const type = frame[0] ?? -1;
  const data = frame.subarray(1);
  const hex = Buffer.from(data).toString("hex");
  switch (type) {
    case 0x04: {
      // A 4-byte header (OpenJabNab: 7FFFFFFE), then (service, value) pairs.
      const services: { service: string; value: number }[] = [];
      for (let i = 4; i + 1 < data.length; i += 2) {
        services.push({ service: AMBIENT_SERVICES[data[i]!] ?? `service 0x${data[i]!.toString(16)}`, value: data[i + 1]! });
      }
      return { type: "ambient", services };
    }
    case 0x0b:
      return { type: "mode", mode: data[0] === 1 ? "sleep" : "wake" };
    case 0x09:
      return { type: "reboot" };
    case 0x0a:
      return { type: "program", length: data.length };
    case 0x03:
      return { type: "ping-interval", data: hex };
    default:
      return { type: `frame 0x${type.toString(16).padStart(2, "0")}`, data: hex };
  }
}

export function frameText(frame: FrameDescription): string {
  if (frame.type === "ambient" && "services" in frame) return `ambient: ${frame.services.map((s) => `${s.service} ${s.value}`).join(", ")}`;
  if (frame.type === "mode" && "mode" in frame) return frame.mode;
  if (frame.type === "program" && "length" in frame) return `program (${frame.length} bytes)`;
  return "data" in frame ? `${frame.type} ${frame.data}` : frame.type;
}
