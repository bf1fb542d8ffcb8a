// Failure loops, said in words. A rabbit that cannot get online keeps its firmware behaviour (register, fail,
// reboot, again), which on the wire looks the same every turn; this watcher reads the turns and, when one fails the
// same way FAILURE_REPEATS_REPORTED times in a row, says once what is likely wrong and what to try. It reads only
// what the rabbit sent and received and its log lines: it changes nothing.

import type { Profile } from "./quirks.js";
import type { RabbitListener, RegistrationForm } from "./rabbit.js";

/** The same failure this many times in a row is reported (once, until the rabbit gets online). */
export const FAILURE_REPEATS_REPORTED = 3;

export interface Diagnosis {
  cause: string;
  count: number;
  message: string;
}

type Sent = "none" | "header" | "register-get" | "register-set" | "auth" | "response" | "other";

export interface DiagnosisOptions {
  profile: Profile;
  registration: RegistrationForm;
  report(diagnosis: Diagnosis): void;
}

export class FailureDiagnosis implements RabbitListener {
  private lastSent: Sent = "none";
  private registerNamespace = "";
  private registeredOnStream = false;
  private streamEnded = false;
  private streakCause = "";
  private streak = 0;
  private readonly reported = new Set<string>();

  constructor(private readonly options: DiagnosisOptions) {}

  connecting(): void {
    this.lastSent = "none";
    this.registeredOnStream = false;
    this.streamEnded = false;
  }

  sent(_handle: number, bytes: Uint8Array): void {
    const text = Buffer.from(bytes).toString("latin1");
    const register = /<query xmlns=["'](\w+:iq:register)["']/.exec(text);
    if (register) {
      this.registerNamespace = register[1]!;
      this.lastSent = /type='get'/.test(text) ? "register-get" : "register-set";
    } else if (text.startsWith("<?xml")) this.lastSent = "header";
    else if (text.startsWith("<auth ")) this.lastSent = "auth";
    else if (text.startsWith("<response")) this.lastSent = "response";
    else if (text.trim().length > 0) this.lastSent = "other";
  }

  received(_handle: number, bytes: Uint8Array): void {
    const text = Buffer.from(bytes).toString("latin1");
    if (this.lastSent === "register-set" && /^<iq[^>]*type=['"]result['"]/.test(text)) this.registeredOnStream = true;
    if (/<invalid-mechanism\/>/.test(text)) this.failed("no-digest-md5");
    if (/<stream:error|<\/stream:stream>/.test(text)) this.ended();
  }

  closed(_handle: number, by: "rabbit" | "peer"): void {
    if (by === "peer") this.ended();
  }

  uart(line: string): void {
    if (line === "Failure to login. Warn server and re-register") this.failed(this.registeredOnStream ? "login-after-register" : "login-stored-password");
    else if (line === "Error registering phase1") this.failed("register-get-error");
    else if (line === "error registering phase2") this.failed("register-set-error");
  }

  report(kind: string): void {
    if (kind !== "online") return;
    this.streak = 0;
    this.streakCause = "";
    this.reported.clear();
  }

  /** The server ended the stream (a close, </stream:stream> or a stream error): what was the rabbit's last word? */
  private ended(): void {
    if (this.streamEnded) return;
    this.streamEnded = true;
    if (this.lastSent === "register-get") this.failed(`closed-after-register-get:${this.registerNamespace}`);
    else if (this.lastSent === "register-set") this.failed("closed-after-register-set");
    else if (this.lastSent === "auth" || this.lastSent === "response") this.failed(`closed-after-${this.lastSent}`);
  }

  private failed(cause: string): void {
    this.streak = cause === this.streakCause ? this.streak + 1 : 1;
    this.streakCause = cause;
    if (this.streak < FAILURE_REPEATS_REPORTED || this.reported.has(cause)) return;
    this.reported.add(cause);
    this.options.report({ cause, count: this.streak, message: explain(cause, this.options) });
  }
}

/** The likely cause and what to try, in one sentence. */
export function explain(cause: string, options: Pick<DiagnosisOptions, "profile" | "registration">): string {
  const colon = cause.indexOf(":");
  const kind = colon < 0 ? cause : cause.slice(0, colon);
  const detail = colon < 0 ? undefined : cause.slice(colon + 1);
  switch (kind) {
    case "closed-after-register-get":
      return detail === "violet:iq:register"
        ? "the server closed the stream after violet:iq:register: it does not know the stock registration (stock XMPP servers do this); try --registration binary"
        : `the server closed the stream after ${detail}: OpenJabNab accepts only the stock form (violet:iq:register); try --registration stock`;
    case "closed-after-register-set":
      return "the server closed the stream after the registration set: OpenJabNab does this when it already stores a password for this MAC (it forgets it only on sendMailXMPP.jsp); clear it on the server";
    case "closed-after-auth":
      return "the server closed the stream after <auth>: it does not take this SASL mechanism in this form";
    case "closed-after-response":
      return "the server closed the stream after the SASL response: it parses DIGEST-MD5 differently (OpenJabNab wants the firmware's exact field order, no realm)";
    case "login-after-register":
      return options.profile === "standard"
        ? "login refused right after registering: the server may compute DIGEST-MD5 differently (OpenJabNab adds a NUL to the cnonce, as the firmware sends it); try --profile firmware"
        : "login refused right after registering: the server stores the XOR'd password as sent (a stock XMPP server), which the firmware never logs in with; try --profile standard";
    case "login-stored-password":
      return "login refused with the password in flash: the server does not know it; the rabbit reports FailureLogin and registers again";
    case "no-digest-md5":
      return "the server does not offer DIGEST-MD5 (Prosody has none), the only mechanism of the firmware; try --profile standard";
    case "register-get-error":
      return `the server answered the registration request (${options.registration} form) with an error: try another --registration`;
    case "register-set-error":
      return "the server refused the registration (an account for this MAC exists): the rabbit stays red until it reboots";
    default:
      return cause;
  }
}
