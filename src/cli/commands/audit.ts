import { renderAuditLine } from "../../audit/render.js";
import { AuditTrail } from "../../audit/trail.js";
import { EXIT } from "../../model/result.js";
import { type GlobalOptions, type Io, loadContext } from "../context.js";

export async function auditShowCommand(global: GlobalOptions, options: { last: number }, io: Io): Promise<number> {
  const { config } = await loadContext(global, io);
  const records = (await new AuditTrail(config.audit.path).readAll()).slice(-options.last);
  if (global.output === "json") {
    await io.stdout(`${JSON.stringify(records, null, 2)}\n`);
  } else if (records.length === 0) {
    await io.stdout(`no audit records in ${config.audit.path}\n`);
  } else {
    await io.stdout(`${records.map(renderAuditLine).join("\n")}\n`);
  }
  return EXIT.ok;
}

export async function auditVerifyCommand(global: GlobalOptions, io: Io): Promise<number> {
  const { config } = await loadContext(global, io);
  const verdict = await new AuditTrail(config.audit.path).verify();
  if (global.output === "json") {
    await io.stdout(`${JSON.stringify({ path: config.audit.path, ...verdict }, null, 2)}\n`);
  } else if (verdict.ok) {
    const head = verdict.head ? `, head #${verdict.head.seq} ${verdict.head.hash}` : "";
    await io.stdout(`${config.audit.path}: intact, ${verdict.records} records${head}\n`);
  } else {
    await io.stdout(`${config.audit.path}: NOT intact at line ${verdict.line}: ${verdict.reason}\n`);
  }
  return verdict.ok ? EXIT.ok : EXIT.failed;
}
