// The firmware's quirks by name (spec §1.1), in the module's numbering (assembly/quirks.ts), and the two profiles.

export const QUIRK_NAMES = [
  "md5-length",
  "b64-enc-padding",
  "b64-dec-nul",
  "b64-dec-phase",
  "cnonce-nul",
  "cnonce-lcg",
  "password-seed",
  "register-xor",
  "mech-blind",
  "challenge-strict",
  "sasl-silent",
  "failure-reregister",
  "header-one-chunk",
  "close-reboots",
  "no-stream-close",
  "stream-error-ignored",
  "srv-order",
  "no-starttls",
  "read-timeout-writes",
  "bind-from",
  "session-always",
  "rebind-same-stream",
  "sources-error-reconnect",
  "ping-echo",
  "ping-exact-to",
  "iq-silent-drop",
  "reply-to-result",
  "disco-no-identity",
  "xml-ws-between",
  "xml-empty-noattr",
  "xml-empty-truncate",
  "xml-nested-same",
  "xml-no-entities",
  "xml-prefix-literal",
  "xml-attr-syntax",
  "xml-first-text",
  "presence-wait",
] as const;

export type QuirkName = (typeof QUIRK_NAMES)[number];
export type Profile = "firmware" | "standard";
export type QuirkSettings = Partial<Record<QuirkName, boolean>>;

/**
 * The `firmware` profile turns every quirk on. `standard` turns them off, except failure-reregister: re-registering
 * after a failed login is the application's policy, which the spec keeps in the standard profile (§1.1).
 */
export function profileQuirks(profile: Profile): Record<QuirkName, boolean> {
  const settings = {} as Record<QuirkName, boolean>;
  for (const name of QUIRK_NAMES) settings[name] = profile === "firmware" || name === "failure-reregister";
  return settings;
}

export function quirkIndex(name: string): number {
  const index = QUIRK_NAMES.indexOf(name as QuirkName);
  if (index < 0) throw new Error(`unknown quirk '${name}' (known: ${QUIRK_NAMES.join(", ")})`);
  return index;
}
