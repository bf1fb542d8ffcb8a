// Randomness for a rabbit: the VM's generator, bit for bit (spec §2.1), and a secure source for the standard
// profile (the host's CSPRNG, or a seeded stream when the run must be repeatable).

import { createHash, randomBytes } from "node:crypto";

/** The VM's rand/srand: r = r * 0x1234567 + 11 (mod 2^32); rand returns (r >> 8) & 0xFFFF. */
export class VmRandom {
  private state = 0;
  /** A fixed state at boot replaces the program's boot-time srand(time_ms) (replay's --rng-state). */
  private bootState: number | undefined;
  private bootSeedPending = false;

  constructor(bootState?: number) {
    this.bootState = bootState;
  }

  /** A (re)boot: the next srand is the program's own seeding from the boot clock. */
  booted(): void {
    this.bootSeedPending = this.bootState !== undefined;
    if (this.bootState !== undefined) this.state = this.bootState | 0;
  }

  srand(seed: number): void {
    if (this.bootSeedPending) {
      this.bootSeedPending = false;
      return;
    }
    this.state = seed | 0;
  }

  rand(): number {
    this.state = (Math.imul(this.state, 0x1234567) + 11) | 0;
    return (this.state >>> 8) & 0xffff;
  }
}

/** Secure random bytes: crypto.randomBytes, or with a seed a deterministic SHA-256 counter stream (virtual runs). */
export class SecureRandom {
  private counter = 0;

  constructor(private readonly seed?: string) {}

  bytes(length: number): Uint8Array {
    if (this.seed === undefined) return randomBytes(length);
    const out = new Uint8Array(length);
    for (let at = 0; at < length; at += 32) {
      const block = createHash("sha256").update(`${this.seed}:${this.counter++}`).digest();
      out.set(block.subarray(0, Math.min(32, length - at)), at);
    }
    return out;
  }
}
