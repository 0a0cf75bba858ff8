import cron from "node-cron";
import { z } from "zod";
import { parseTarget } from "../model/target.js";
import { parseCidr } from "../model/cidr.js";
import { ALERT_EVENTS, type SinkType } from "../model/alerts.js";
import type { SourceType } from "../model/sources.js";
import { duration, limit, resolver, type Setting } from "./setting.js";
import type { ResolverAddress } from "../util/resolver.js";
import { schedulePeriodMs } from "./schedule-period.js";

const HOSTNAME = /^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?$/;
/** Reaches the runtime socket verbatim, so only characters that cannot split a command. */
const SOCKET_TOKEN = /^[A-Za-z0-9._/+@-]+$/;
const MAP_VALUE = /^[A-Za-z0-9._:-]{1,64}$/;
export const DEFAULT_AUDIT_PATH = "/var/lib/travis-allowlist/audit.jsonl";

const name = z.string({ error: "expected a non-empty string" }).regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, {
  error: "expected a label of letters, digits, '.', '_' or '-' (at most 63 characters)",
});

const positiveMs = (fallback: number) => z.number({ error: "expected a number of milliseconds" }).int().min(1).max(600_000).default(fallback);

const hostname = z.string({ error: "expected a DNS name" }).regex(HOSTNAME, { error: "expected a DNS name such as nat.travisci.net" });

const entryText = z.string({ error: "expected an address or CIDR string" });

const cidr = z.string({ error: "expected a CIDR string" }).refine((s) => parseCidr(s).ok, {
  error: "expected a canonical address or CIDR such as 34.0.0.0/8",
});

const url = z.string({ error: "expected a URL" }).refine((s) => /^https?:\/\/[^\s]+$/.test(s), { error: "expected an http:// or https:// URL" });

export const dnsSourceSchema = z.strictObject({
  name,
  type: z.literal("dns" satisfies SourceType),
  names: z.array(hostname, { error: "expected a list of DNS names" }).min(1, { error: "expected at least one name" }),
  resolvers: z.array(resolver, { error: "expected a list of resolvers" }).min(1, { error: "expected at least one resolver" }).optional(),
  quorum: z.number({ error: "expected a whole number" }).int().min(1).default(1),
  timeoutMs: positiveMs(2000),
  retries: z.number({ error: "expected a whole number" }).int().min(0).max(10).default(2),
  requireDnssec: z.boolean({ error: "expected true or false" }).default(false),
});

export const httpSourceSchema = z.strictObject({
  name,
  type: z.literal("http" satisfies SourceType),
  url,
  format: z.enum(["dnsjson", "github-meta", "lines", "json"], { error: "expected one of dnsjson, github-meta, lines, json" }),
  key: z.string().min(1).optional(),
  timeoutMs: positiveMs(10_000),
  maxBytes: z
    .number()
    .int()
    .min(1)
    .default(5 * 1024 * 1024),
});

export const staticSourceSchema = z.strictObject({
  name,
  type: z.literal("static" satisfies SourceType),
  entries: z.array(entryText, { error: "expected a list of addresses or CIDRs" }).min(1, { error: "expected at least one entry" }),
});

const source = z.discriminatedUnion("type", [dnsSourceSchema, httpSourceSchema, staticSourceSchema], {
  error: "expected a source with type dns, http or static",
});

const TARGET_MESSAGE = "expected unix:///path, tcp://host:port or tls://host:port";
const target = z.string({ error: TARGET_MESSAGE }).refine((s) => parseTarget(s) !== undefined, { error: TARGET_MESSAGE });

const filePath = z.string({ error: "expected a file path" }).min(1, { error: "expected a file path" });

/** Mutual TLS to a listener in front of the runtime socket; the files are read on every connection, so rotated certificates are picked up. */
const runtimeTls = z
  .strictObject(
    {
      ca: filePath,
      cert: filePath.optional(),
      key: filePath.optional(),
      serverName: z
        .string()
        .regex(/^[A-Za-z0-9.-]{1,253}$/, { error: "expected a DNS name" })
        .optional(),
    },
    { error: "expected an object with ca, cert, key and serverName" },
  )
  .refine((t) => (t.cert === undefined) === (t.key === undefined), { error: "expected both cert and key, or neither" });

/** The file's keys, each parsed once; durations and limits as `Setting`s, to be shown as written and used as parsed. */
const settingsSchema = z.strictObject({
  sources: z.array(source, { error: "expected a list of sources" }).min(1, { error: "expected at least one source" }),
  exclude: z.array(cidr, { error: "expected a list of CIDRs" }).default([]),
  haproxy: z
    .strictObject(
      {
        sockets: z.array(target, { error: "expected a list of unix:///path, tcp://host:port or tls://host:port" }).default([]),
        tls: runtimeTls.optional(),
        discover: z
          .strictObject({
            dns: hostname,
            port: z.number().int().min(1).max(65535).optional(),
            resolvers: z.array(resolver).min(1).optional(),
          })
          .optional(),
        map: z
          .string({ error: "expected the map or ACL file path as HAProxy loaded it" })
          .regex(SOCKET_TOKEN, { error: "expected a file path of letters, digits and . _ / + @ - only" })
          .refine((s) => !s.startsWith("@"), { error: "expected a file path, not a version reference" }),
        kind: z.enum(["map", "acl"], { error: "expected map or acl" }).default("map"),
        value: z.string().regex(MAP_VALUE, { error: "expected a map value of letters, digits and . _ : - (at most 64)" }).default("travis"),
        previousValues: z
          .array(z.string().regex(MAP_VALUE, { error: "expected a map value of letters, digits and . _ : - (at most 64)" }), {
            error: "expected a list of map values",
          })
          .default([]),
        persist: z.boolean({ error: "expected true or false" }).default(false),
        denials: z
          .strictObject(
            {
              table: z
                .string({ error: "expected the name of a stick table" })
                .regex(SOCKET_TOKEN, { error: "expected a stick table name of letters, digits and . _ / + @ - only" }),
              /** The table's `expire`, as haproxy.cfg declares it: the runtime API does not print it, and last seen is reckoned from it. */
              expire: duration.prefault("24h"),
            },
            { error: "expected an object with table (and expire)" },
          )
          .optional(),
        concurrency: z.number({ error: "expected a whole number" }).int().min(1).max(256).default(8),
        timeoutMs: positiveMs(5000),
      },
      { error: "expected an object with sockets and map" },
    )
    .refine((h) => h.sockets.length > 0 || h.discover !== undefined, {
      error: "expected at least one of haproxy.sockets or haproxy.discover",
    })
    .refine((h) => h.tls !== undefined || !h.sockets.some((s) => s.startsWith("tls://")), {
      error: "expected haproxy.tls (ca, cert, key) for tls:// sockets",
      path: ["tls"],
    })
    .refine((h) => !h.previousValues.includes(h.value), {
      error: "expected haproxy.previousValues not to contain haproxy.value",
      path: ["previousValues"],
    })
    .refine((h) => h.kind === "map" || h.previousValues.length === 0, {
      error: "expected no previousValues with kind: acl (ACL entries carry no value)",
      path: ["previousValues"],
    }),
  guards: z
    .strictObject({
      minEntries: z.number({ error: "expected a whole number" }).int().min(1, { error: "expected at least 1" }).default(1),
      maxAdditions: limit.prefault("50%"),
      maxRemovals: limit.prefault("25%"),
      minPrefixV4: z.number().int().min(1).max(32, { error: "expected a prefix length from 1 to 32" }).default(16),
      minPrefixV6: z.number().int().min(1).max(128, { error: "expected a prefix length from 1 to 128" }).default(32),
      allowReserved: z.boolean({ error: "expected true or false" }).default(false),
      expected: z.array(cidr).optional(),
      maxAddresses: z.number({ error: "expected a whole number" }).int().min(1, { error: "expected at least 1" }).default(65_536),
      removeAfter: duration.prefault("1h"),
    })
    .prefault({}),
  audit: z
    .strictObject({
      path: z.string({ error: "expected the audit file path" }).min(1).default(DEFAULT_AUDIT_PATH),
      key: z.string({ error: 'expected a key, e.g. "${AUDIT_HMAC_KEY}"' }).min(16, { error: "expected a key of at least 16 characters" }).optional(),
      heartbeat: duration.prefault("1h"),
    })
    .prefault({}),
  stateDir: z.string().min(1).optional(),
  limits: z
    .strictObject({
      maxLiveEntries: z.number({ error: "expected a whole number" }).int().min(1, { error: "expected at least 1" }).default(500_000),
    })
    .prefault({}),
  planMaxAge: duration.prefault("1h"),
  alerts: z
    .strictObject({
      on: z.array(z.enum(ALERT_EVENTS)).default(["held", "failed", "unexpected", "drift", "exposure", "denied-runner"]),
      repeatInterval: duration.prefault("4h"),
      sinks: z
        .array(
          z.discriminatedUnion(
            "type",
            [
              z.strictObject({ type: z.literal("slack" satisfies SinkType), url, timeoutMs: positiveMs(5000) }),
              z.strictObject({ type: z.literal("alertmanager" satisfies SinkType), url, timeoutMs: positiveMs(5000) }),
              z.strictObject({
                type: z.literal("webhook" satisfies SinkType),
                url,
                headers: z.record(z.string(), z.string()).optional(),
                timeoutMs: positiveMs(5000),
              }),
            ],
            { error: "expected a sink with type slack, alertmanager or webhook" },
          ),
        )
        .default([]),
    })
    .prefault({}),
  runTimeout: duration.prefault("5m"),
  watchInterval: duration.prefault("5s"),
  schedule: z
    .string({ error: "expected a cron expression" })
    .refine((s) => cron.validate(s), { error: 'expected a cron expression such as "*/10 * * * *"' })
    .default("*/10 * * * *"),
  metrics: z
    .strictObject({
      listen: z
        .string({ error: "expected host:port" })
        .refine((s) => parseListen(s) !== undefined, { error: "expected host:port, e.g. 0.0.0.0:9464" })
        .optional(),
      pushgateway: url.optional(),
      textfile: z
        .string({ error: "expected a file path ending in .prom" })
        .regex(/\.prom$/, { error: "expected a file path ending in .prom (node_exporter's textfile collector reads only *.prom)" })
        .optional(),
    })
    .optional(),
});

type Settings = z.output<typeof settingsSchema>;

/** Resolvers as written, or as parsed: what each view of the file keeps of them; `denials` is how that view keeps the denied clients' table. */
function withSettingViews<T, D>(
  settings: Settings,
  view: (resolver: Setting<string, ResolverAddress>) => T,
  denials: (table: NonNullable<Settings["haproxy"]["denials"]>) => D,
) {
  const sources = settings.sources.map((source) => (source.type === "dns" ? { ...source, resolvers: source.resolvers?.map(view) } : source));
  const { discover } = settings.haproxy;
  return {
    sources,
    haproxy: {
      ...settings.haproxy,
      discover: discover && { ...discover, resolvers: discover.resolvers?.map(view) },
      denials: settings.haproxy.denials && denials(settings.haproxy.denials),
    },
  };
}

/** The file as validated, defaults filled in, values as written: what `config check` shows and the config digest covers. */
function asWritten(settings: Settings) {
  const { guards, audit, alerts } = settings;
  return {
    ...settings,
    ...withSettingViews(
      settings,
      (r) => r.written,
      (d) => ({ table: d.table, expire: d.expire.written }),
    ),
    guards: { ...guards, maxAdditions: guards.maxAdditions.written, maxRemovals: guards.maxRemovals.written, removeAfter: guards.removeAfter.written },
    audit: { ...audit, heartbeat: audit.heartbeat.written },
    alerts: { ...alerts, repeatInterval: alerts.repeatInterval.written },
    runTimeout: settings.runTimeout.written,
    watchInterval: settings.watchInterval.written,
    planMaxAge: settings.planMaxAge.written,
  };
}

/**
 * The config as the program uses it: durations in milliseconds, limits as
 * counts or fractions, the schedule's period. Nothing after this reads a
 * duration or a percentage as text.
 */
function asUsed(settings: Settings, now: Date) {
  const { guards, audit, alerts, runTimeout, watchInterval, planMaxAge, ...rest } = settings;
  const { maxAdditions, maxRemovals, removeAfter, ...guardRest } = guards;
  const { heartbeat, ...auditRest } = audit;
  const { repeatInterval, ...alertsRest } = alerts;
  return {
    ...rest,
    ...withSettingViews(
      settings,
      (r) => r.value,
      (d) => ({ table: d.table, /** The table's expire, from which last seen is reckoned. */ expireMs: d.expire.value }),
    ),
    guards: {
      ...guardRest,
      maxAdditions: maxAdditions.value,
      maxRemovals: maxRemovals.value,
      /** An owned entry absent upstream is removed after this long; 0: at once. */
      removeAfterMs: removeAfter.value,
    },
    audit: {
      ...auditRest,
      /** Identical in-sync runs go unrecorded this long after the last record; 0 records every run. */
      heartbeatMs: heartbeat.value,
    },
    alerts: {
      ...alertsRest,
      /** A firing condition is not sent again to Slack or webhooks sooner than this. */
      repeatIntervalMs: repeatInterval.value,
    },
    /** Every run ends by then. */
    runTimeoutMs: runTimeout.value,
    /** How often the daemon asks each instance which process it is; 0 turns the restart watch off. */
    watchIntervalMs: watchInterval.value,
    /** `sync --plan` refuses a plan saved longer ago than this. */
    planMaxAgeMs: planMaxAge.value,
    /** The longest time between two runs of `schedule`. */
    schedulePeriodMs: schedulePeriodMs(rest.schedule, now),
  };
}

/** The config file's schema; `now` is the clock the schedule's period is read from (its answer does not depend on it, its work does). */
export function configSchema(now: Date) {
  return settingsSchema.transform((settings) => ({ file: asWritten(settings), config: asUsed(settings, now) }));
}

export type ConfigFile = ReturnType<typeof asWritten>;
export type Config = ReturnType<typeof asUsed>;
export type SourceConfig = Config["sources"][number];
export type DnsSourceConfig = Extract<SourceConfig, { type: "dns" }>;
export type StaticSourceConfig = z.output<typeof staticSourceSchema>;
export type HaproxyConfig = Config["haproxy"];
export type GuardsConfig = Config["guards"];

/** `0.0.0.0:9464`, `127.0.0.1:0`, `[::]:9464`. */
export function parseListen(text: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9A-Fa-f:]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text);
  if (!match) return undefined;
  const port = Number(match[3]);
  return port <= 65535 ? { host: (match[1] ?? match[2]) as string, port } : undefined;
}
