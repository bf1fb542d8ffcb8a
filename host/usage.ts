// The command line's bad-usage error and the parsers that several commands share: a bad value is one clear
// sentence and exit status 2 (cli.ts prints it with a pointer to --help).

import type { Variant } from "./core.js";
import type { Profile, QuirkSettings } from "./quirks.js";
import { defaultRegistration, defaultVariant, firmwareOnly, REGISTRATION_FORMS, SASL_MECHANISMS, type RegistrationForm, type SaslMechanism } from "./rabbit.js";

export class UsageError extends Error {}

export function fail(message: string): never {
  throw new UsageError(message);
}

export function parseProfile(value: string | undefined): Profile {
  const profile = value ?? "firmware";
  if (profile !== "firmware" && profile !== "standard") fail(`--profile is firmware or standard, not ${profile}`);
  return profile;
}

export function parseRegistration(value: string | undefined, profile: Profile): RegistrationForm {
  if (value === undefined) return defaultRegistration(profile);
  const form = REGISTRATION_FORMS.find((name) => name === value);
  if (!form) fail(`--registration is ${REGISTRATION_FORMS.join(", ")}, not ${value}`);
  return form;
}

/** A whole number from 0 to `max`, or `fallback` when the option is absent. */
export function parseCount(value: string | undefined, name: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) > max) fail(`${name} takes an integer from 0 to ${max}, not ${value}`);
  return Number(value);
}

export function parseSasl(value: string | undefined): SaslMechanism | undefined {
  if (value === undefined) return undefined;
  const mechanism = SASL_MECHANISMS.find((name) => name !== "none" && name === value.toUpperCase());
  if (!mechanism) fail(`--sasl is SCRAM-SHA-1, DIGEST-MD5 or PLAIN, not ${value}`);
  return mechanism;
}

/**
 * --build: the module a rabbit runs. `device` (the default where it can) is what a real rabbit would run, the
 * firmware profile alone in one 64 KiB page, with the rabbit's buffer sizes; `release` has both profiles and the full
 * build's buffers (16 KiB stanzas, 8 KiB packets).
 */
export function parseBuild(value: string | undefined, rabbit: { profile: Profile; quirks?: QuirkSettings; sasl?: SaslMechanism }): Variant {
  const canDevice = firmwareOnly(rabbit);
  if (value === undefined) return defaultVariant(rabbit);
  if (value !== "device" && value !== "release") fail(`--build is device or release, not ${value}`);
  if (value === "device" && !canDevice) fail("--build device runs the firmware profile with the firmware's quirks only (no --sasl, no --quirk, no standard profile)");
  return value;
}
