// The command line's bad-usage error and the parsers that several commands share: a bad value is one clear
// sentence and exit status 2 (cli.ts prints it with a pointer to --help).

import type { Profile } from "./quirks.js";
import { defaultRegistration, REGISTRATION_FORMS, SASL_MECHANISMS, type RegistrationForm, type SaslMechanism } from "./rabbit.js";

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
