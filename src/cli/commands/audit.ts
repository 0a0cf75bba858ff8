import { renderAuditLine } from "../../audit/render.js";
import { AuditTrail } from "../../audit/trail.js";
import type { AuditHead } from "../../audit/record.js";
import { UsageError } from "../../errors.js";
import { type GlobalOptions, type Io, loadContext } from "../context.js";
import { EXIT } from "../exit.js";

const CHANGES: ReadonlySet<string> = new Set(["applied", "held", "failed"]);

export async function auditShowCommand(global: GlobalOptions, options: { last: number; changes?: boolean }, io: Io): Promise<number> {
  const { config } = await loadContext(global, io);
  const all = await new AuditTrail(config.audit.path).readAll();
  const records = (options.changes ? all.filter((r) => CHANGES.has(r.event)) : all).slice(-options.last);
  if (global.output === "json") {
    await io.stdout(`${JSON.stringify(records, null, 2)}\n`);
  } else if (records.length === 0) {
    await io.stdout(`no audit records in ${config.audit.path}\n`);
  } else {
    await io.stdout(`${records.map(renderAuditLine).join("\n")}\n`);
  }
  return EXIT.ok;
}

export async function auditVerifyCommand(global: GlobalOptions, options: { anchor?: string }, io: Io): Promise<number> {
  let anchor: AuditHead | undefined;
  if (options.anchor !== undefined) {
    const match = /^(\d+):((?:sha256|hmac-sha256):[0-9a-f]{64})$/.exec(options.anchor);
    if (!match) throw new UsageError(`--anchor ${JSON.stringify(options.anchor)}: expected SEQ:DIGEST, e.g. 42:hmac-sha256:3f…, as a run logs it`);
    anchor = { seq: Number(match[1]), hash: match[2] as string };
  }
  const { config } = await loadContext(global, io);
  const verdict = await new AuditTrail(config.audit.path, { key: config.audit.key }).verify(anchor);
  if (global.output === "json") {
    await io.stdout(`${JSON.stringify({ path: config.audit.path, ...verdict }, null, 2)}\n`);
  } else if (verdict.ok) {
    const head = verdict.head ? `, head #${verdict.head.seq} ${verdict.head.hash}` : "";
    const keyed =
      verdict.keyedFrom === undefined ? ", not keyed (anyone who can write the file can rewrite it)" : `, keyed (HMAC-SHA256) from record ${verdict.keyedFrom}`;
    const anchored = anchor ? `, matches the anchor #${anchor.seq}` : "";
    await io.stdout(`${config.audit.path}: intact, ${verdict.records} records${head}${keyed}${anchored}\n`);
  } else {
    await io.stdout(`${config.audit.path}: NOT intact at line ${verdict.line}: ${verdict.reason}\n`);
  }
  return verdict.ok ? EXIT.ok : EXIT.failed;
}
