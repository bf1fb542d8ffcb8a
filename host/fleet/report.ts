// What a fleet saw, in a form that adds up: the report one fleet process writes (--report FILE.json), and the sum of
// several (`fleet merge`, for shards run on several machines). Latencies go into a histogram of fixed buckets (three
// significant digits: under 1 % error) so that percentiles of merged reports are the percentiles of all rabbits.

export const REPORT_FORMAT = "nabaztag-vm fleet report 1";
/** The timeline's step; a longer run doubles it (TIMELINE_POINTS_MAX). */
export const TIMELINE_STEP_MS = 250;
export const TIMELINE_POINTS_MAX = 4_800;
/** Failure reasons kept apart; the rest are counted as "other". */
export const FAILURE_REASONS_MAX = 48;

/** Bucket keys: exact below 1 s, then three significant digits. */
export function bucketOf(ms: number): number {
  const value = Math.max(0, Math.round(ms));
  if (value < 1000) return value;
  const scale = 10 ** (Math.floor(Math.log10(value)) - 2);
  return Math.floor(value / scale) * scale;
}

export class Histogram {
  readonly buckets = new Map<number, number>();
  count = 0;
  max = 0;

  add(ms: number): void {
    const key = bucketOf(ms);
    this.buckets.set(key, (this.buckets.get(key) ?? 0) + 1);
    this.count++;
    this.max = Math.max(this.max, Math.round(ms));
  }

  merge(other: Histogram): void {
    for (const [key, count] of other.buckets) this.buckets.set(key, (this.buckets.get(key) ?? 0) + count);
    this.count += other.count;
    this.max = Math.max(this.max, other.max);
  }

  /** The value under which `fraction` of the samples lie (a bucket's lower bound); undefined when empty. */
  percentile(fraction: number): number | undefined {
    if (this.count === 0) return undefined;
    const rank = Math.max(1, Math.ceil(fraction * this.count));
    let seen = 0;
    for (const key of [...this.buckets.keys()].sort((a, b) => a - b)) {
      seen += this.buckets.get(key)!;
      if (seen >= rank) return key;
    }
    return this.max;
  }

  toJSON(): HistogramJson {
    return { count: this.count, max: this.max, buckets: Object.fromEntries([...this.buckets].sort((a, b) => a[0] - b[0])) };
  }

  static from(json: HistogramJson): Histogram {
    const histogram = new Histogram();
    for (const [key, count] of Object.entries(json.buckets)) histogram.buckets.set(Number(key), count);
    histogram.count = json.count;
    histogram.max = json.max;
    return histogram;
  }
}

export interface HistogramJson {
  count: number;
  max: number;
  buckets: Record<string, number>;
}

/** Counts by reason, at most FAILURE_REASONS_MAX reasons. */
export class Reasons {
  readonly counts = new Map<string, number>();

  add(reason: string, count = 1): void {
    const key = this.counts.has(reason) || this.counts.size < FAILURE_REASONS_MAX ? reason : "other";
    this.counts.set(key, (this.counts.get(key) ?? 0) + count);
  }

  get total(): number {
    let total = 0;
    for (const count of this.counts.values()) total += count;
    return total;
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort((a, b) => b[1] - a[1]));
  }
}

/** What one worker process counted. */
export interface WorkerTotals {
  rabbits: number;
  started: number;
  online: number;
  everOnline: number;
  logins: number;
  /** SASL successes (status "loggedin"): a standard rabbit logs in once per resource, twice to get online. */
  saslLogins: number;
  boots: number;
  locateCalls: number;
  connections: number;
  /** Connections opened by rabbits that had been online (after a drop, a reboot). */
  reconnects: number;
  loginMs: HistogramJson;
  failures: Record<string, number>;
  cpuMs: number;
  /** The modules its rabbits ran (Rabbit.variant), each once. */
  builds: string[];
  rssBytes: number;
  /** RSS before the first rabbit (the process, the compiled module). */
  rssBaseBytes: number;
  lagMsMax: number;
  flashWriteFailures: number;
}

export interface FleetReport {
  format: typeof REPORT_FORMAT;
  /** This process's shard ("K/N"), or the shards a merged report sums. */
  shards: string[];
  rabbits: number;
  profile: string;
  /** The modules the rabbits ran, as their workers saw them (device, release; "+" between several). */
  build: string;
  platform: string;
  /** Rabbits started per second; null: all at once (a power cut). */
  ramp: number | null;
  workers: number;
  durationMs: number;
  started: number;
  /** Online at the end, and online at least once. */
  online: number;
  everOnline: number;
  /** From the first boot until every rabbit was online; null if some never were. */
  timeToAllOnlineMs: number | null;
  /** Times a rabbit came online; saslLogins: SASL successes (what an XMPP client's login is). */
  logins: number;
  saslLogins: number;
  loginMs: HistogramJson & { p50: number | null; p95: number | null; p99: number | null };
  locate: { calls: number; repeated: number };
  xmpp: { connections: number; reconnects: number };
  reboots: number;
  failures: Record<string, number>;
  cpu: { fleetMs: number; perLoginMs: number | null; perSaslLoginMs: number | null; labMs: number | null };
  memory: { rssBytes: number; rssPerRabbitBytes: number };
  lagMsMax: number;
  flashWriteFailures: number;
  /** After all were online until the end (at least 5 s): the fleet's CPU, in % of one core. */
  idle: { seconds: number; cpuPercent: number } | null;
  timeline: { stepMs: number; online: number[] };
  /** What the lab saw, when the fleet ran it. */
  lab: { locateCalls: number; logins: number; registrations: number; refusals: number; connectionsMax: number } | null;
}

export interface ReportSetting {
  shard: string;
  profile: string;
  platform: string;
  ramp: number | null;
  durationMs: number;
  timeToAllOnlineMs: number | null;
  timeline: Timeline;
  labCpuMs: number | null;
  idle: FleetReport["idle"];
  lab: FleetReport["lab"];
}

/** CPU per rabbit online and per SASL success. */
function perLogin(cpuMs: number, logins: number, saslLogins: number): { perLoginMs: number | null; perSaslLoginMs: number | null } {
  return { perLoginMs: logins > 0 ? round2(cpuMs / logins) : null, perSaslLoginMs: saslLogins > 0 ? round2(cpuMs / saslLogins) : null };
}

/** The report of one fleet process, from its workers' totals. */
export function buildReport(totals: WorkerTotals[], setting: ReportSetting): FleetReport {
  const sum = (pick: (t: WorkerTotals) => number) => totals.reduce((total, t) => total + pick(t), 0);
  const latency = new Histogram();
  const failures = new Reasons();
  for (const t of totals) {
    latency.merge(Histogram.from(t.loginMs));
    for (const [reason, count] of Object.entries(t.failures)) failures.add(reason, count);
  }
  const rabbits = sum((t) => t.rabbits);
  const logins = sum((t) => t.logins);
  const saslLogins = sum((t) => t.saslLogins);
  const cpuMs = sum((t) => t.cpuMs);
  const boots = sum((t) => t.boots);
  const connections = sum((t) => t.connections);
  return {
    format: REPORT_FORMAT,
    shards: [setting.shard],
    rabbits,
    profile: setting.profile,
    build: [...new Set(totals.flatMap((t) => t.builds))].sort().join("+"),
    platform: setting.platform,
    ramp: setting.ramp,
    workers: totals.length,
    durationMs: setting.durationMs,
    started: sum((t) => t.started),
    online: sum((t) => t.online),
    everOnline: sum((t) => t.everOnline),
    timeToAllOnlineMs: setting.timeToAllOnlineMs,
    logins,
    saslLogins,
    loginMs: withPercentiles(latency),
    locate: { calls: sum((t) => t.locateCalls), repeated: Math.max(0, sum((t) => t.locateCalls) - boots) },
    xmpp: { connections, reconnects: sum((t) => t.reconnects) },
    reboots: Math.max(0, boots - sum((t) => t.started)),
    failures: failures.toJSON(),
    cpu: { fleetMs: Math.round(cpuMs), ...perLogin(cpuMs, logins, saslLogins), labMs: setting.labCpuMs },
    memory: { rssBytes: sum((t) => t.rssBytes), rssPerRabbitBytes: rabbits > 0 ? Math.round(sum((t) => t.rssBytes - t.rssBaseBytes) / rabbits) : 0 },
    lagMsMax: Math.max(0, ...totals.map((t) => t.lagMsMax)),
    flashWriteFailures: sum((t) => t.flashWriteFailures),
    idle: setting.idle,
    timeline: setting.timeline.toJSON(),
    lab: setting.lab,
  };
}

function withPercentiles(histogram: Histogram): FleetReport["loginMs"] {
  return { ...histogram.toJSON(), p50: histogram.percentile(0.5) ?? null, p95: histogram.percentile(0.95) ?? null, p99: histogram.percentile(0.99) ?? null };
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** Online rabbits over time, one point per step; the step doubles when the points would pass the bound. */
export class Timeline {
  stepMs = TIMELINE_STEP_MS;
  readonly online: number[] = [];

  /** The count at `atMs` since the start (points in between repeat the last count). */
  record(atMs: number, online: number): void {
    let index = Math.floor(atMs / this.stepMs);
    while (index >= TIMELINE_POINTS_MAX) {
      this.halve();
      index = Math.floor(atMs / this.stepMs);
    }
    const last = this.online.at(-1) ?? 0;
    while (this.online.length < index) this.online.push(last);
    this.online[index] = online;
  }

  private halve(): void {
    const kept: number[] = [];
    for (let i = 1; i < this.online.length; i += 2) kept.push(this.online[i]!);
    if (this.online.length % 2 === 1) kept.push(this.online.at(-1)!);
    this.online.splice(0, this.online.length, ...kept);
    this.stepMs *= 2;
  }

  toJSON(): { stepMs: number; online: number[] } {
    return { stepMs: this.stepMs, online: [...this.online] };
  }
}

/** A report is a fleet report if it says so and has the fields merge reads; else why not. */
export function reportProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return "not a JSON object";
  const report = value as Partial<FleetReport>;
  if (report.format !== REPORT_FORMAT) return `not a fleet report (format is not "${REPORT_FORMAT}")`;
  const numbers = ["rabbits", "started", "online", "everOnline", "logins", "saslLogins", "reboots", "workers", "durationMs", "lagMsMax", "flashWriteFailures"] as const;
  for (const name of numbers) if (!Number.isSafeInteger(report[name]) || report[name]! < 0) return `${name} is not a count`;
  if (!Array.isArray(report.shards) || !report.shards.every((s) => typeof s === "string")) return "shards is not a list of names";
  if (typeof report.build !== "string" || !/^[a-z]+(\+[a-z]+)*$/.test(report.build)) return "build is not the name of a build";
  const h = report.loginMs;
  if (!h || !Number.isSafeInteger(h.count) || typeof h.buckets !== "object" || h.buckets === null) return "loginMs is not a histogram";
  if (!Object.entries(h.buckets).every(([k, v]) => /^\d+$/.test(k) && Number.isSafeInteger(v) && v >= 0)) return "loginMs has a bad bucket";
  if (!report.timeline || !Number.isSafeInteger(report.timeline.stepMs) || report.timeline.stepMs <= 0 || !Array.isArray(report.timeline.online)) return "timeline is not a timeline";
  if (report.timeline.online.length > TIMELINE_POINTS_MAX) return `timeline has more than ${TIMELINE_POINTS_MAX} points`;
  if (!report.locate || !report.xmpp || !report.cpu || !report.memory || typeof report.failures !== "object") return "a section is missing (locate, xmpp, cpu, memory, failures)";
  return undefined;
}

/** The sum of several reports (shards): counts add, histograms merge, timelines add point by point. */
export function mergeReports(reports: FleetReport[]): FleetReport {
  const first = reports[0]!;
  const latency = new Histogram();
  const failures = new Reasons();
  for (const report of reports) {
    latency.merge(Histogram.from(report.loginMs));
    for (const [reason, count] of Object.entries(report.failures)) failures.add(reason, count);
  }
  const sum = (pick: (r: FleetReport) => number) => reports.reduce((total, r) => total + pick(r), 0);
  const logins = sum((r) => r.logins);
  const saslLogins = sum((r) => r.saslLogins);
  const cpuMs = sum((r) => r.cpu.fleetMs);
  const rabbits = sum((r) => r.rabbits);
  const allOnline = reports.every((r) => r.timeToAllOnlineMs !== null);
  const labMs = reports.every((r) => r.cpu.labMs !== null) ? sum((r) => r.cpu.labMs ?? 0) : null;
  return {
    ...first,
    shards: reports.flatMap((r) => r.shards),
    rabbits,
    profile: [...new Set(reports.map((r) => r.profile))].join("+"),
    build: [...new Set(reports.flatMap((r) => r.build.split("+")))].sort().join("+"),
    platform: [...new Set(reports.map((r) => r.platform))].join(" "),
    workers: sum((r) => r.workers),
    durationMs: Math.max(...reports.map((r) => r.durationMs)),
    started: sum((r) => r.started),
    online: sum((r) => r.online),
    everOnline: sum((r) => r.everOnline),
    timeToAllOnlineMs: allOnline ? Math.max(...reports.map((r) => r.timeToAllOnlineMs!)) : null,
    logins,
    saslLogins,
    loginMs: withPercentiles(latency),
    locate: { calls: sum((r) => r.locate.calls), repeated: sum((r) => r.locate.repeated) },
    xmpp: { connections: sum((r) => r.xmpp.connections), reconnects: sum((r) => r.xmpp.reconnects) },
    reboots: sum((r) => r.reboots),
    failures: failures.toJSON(),
    cpu: { fleetMs: cpuMs, ...perLogin(cpuMs, logins, saslLogins), labMs },
    memory: { rssBytes: sum((r) => r.memory.rssBytes), rssPerRabbitBytes: rabbits > 0 ? Math.round(sum((r) => r.memory.rssPerRabbitBytes * r.rabbits) / rabbits) : 0 },
    lagMsMax: Math.max(...reports.map((r) => r.lagMsMax)),
    flashWriteFailures: sum((r) => r.flashWriteFailures),
    idle: reports.every((r) => r.idle) ? { seconds: Math.min(...reports.map((r) => r.idle!.seconds)), cpuPercent: round2(sum((r) => r.idle!.cpuPercent)) } : null,
    timeline: mergeTimelines(reports.map((r) => r.timeline)),
    lab: reports.every((r) => r.lab) ? {
      locateCalls: sum((r) => r.lab!.locateCalls), logins: sum((r) => r.lab!.logins), registrations: sum((r) => r.lab!.registrations),
      refusals: sum((r) => r.lab!.refusals), connectionsMax: sum((r) => r.lab!.connectionsMax),
    } : null,
  };
}

/** Timelines of different steps go to the largest step; each point is the sum of the shards' counts then. */
function mergeTimelines(timelines: FleetReport["timeline"][]): FleetReport["timeline"] {
  const stepMs = Math.max(...timelines.map((t) => t.stepMs));
  const length = Math.max(...timelines.map((t) => Math.ceil((t.online.length * t.stepMs) / stepMs)));
  const online = Array.from({ length }, (_, i) => {
    let total = 0;
    for (const t of timelines) {
      const at = Math.min(t.online.length - 1, Math.floor(((i + 1) * stepMs) / t.stepMs) - 1);
      total += at >= 0 ? t.online[at]! : 0;
    }
    return total;
  });
  return { stepMs, online };
}

/** The report in a few lines, for people. */
export function describeReport(report: FleetReport): string[] {
  const ms = (value: number | null) => (value === null ? "-" : value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${value} ms`);
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
  const failures = Object.entries(report.failures);
  return [
    `${report.online} of ${report.rabbits} rabbits online at the end (${report.everOnline} at least once); ` +
      (report.timeToAllOnlineMs === null ? "not all were online" : `all online after ${ms(report.timeToAllOnlineMs)}`),
    `login: p50 ${ms(report.loginMs.p50)}, p95 ${ms(report.loginMs.p95)}, p99 ${ms(report.loginMs.p99)}, max ${ms(report.loginMs.max)} (${report.logins} times online, ${report.saslLogins} SASL logins)`,
    `locate.jsp: ${report.locate.calls} calls, ${report.locate.repeated} repeated; XMPP: ${report.xmpp.connections} connections, ${report.xmpp.reconnects} reconnects; ${report.reboots} reboots`,
    failures.length === 0 ? "failures: none" : `failures: ${failures.map(([reason, count]) => `${reason} ×${count}`).join("; ")}`,
    `CPU: ${report.cpu.fleetMs} ms in the fleet (${report.cpu.perLoginMs ?? "-"} ms per login, ${report.cpu.perSaslLoginMs ?? "-"} ms per SASL login)${report.cpu.labMs !== null ? `, ${report.cpu.labMs} ms in the lab` : ""}; ` +
      `RSS ${(report.memory.rssBytes / 1048576).toFixed(0)} MiB, ${kib(report.memory.rssPerRabbitBytes)} per rabbit; event-loop lag max ${report.lagMsMax} ms`,
    ...(report.idle ? [`idle: ${report.idle.cpuPercent} % of one core over ${report.idle.seconds} s with ${report.online} rabbits online`] : []),
  ];
}
