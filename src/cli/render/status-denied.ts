import type { InstanceDrift, StatusReport } from "../../model/status.js";

/** One instance's denied clients, as `status` shows them: how many its table lists, and how many of them a source publishes. */
export function deniedLines(instance: InstanceDrift, table: StatusReport["deniedTable"]): string[] {
  if (table === undefined || instance.denied === undefined) return [];
  if (instance.denied === null) {
    const why = instance.deniedError ? ` (${instance.deniedError.code}: ${instance.deniedError.message})` : "";
    return [`  denied clients: table ${table.table} not read${why}`];
  }
  const { clients, published, truncated } = instance.denied;
  const who = `${clients} ${clients === 1 ? "client" : "clients"}`;
  const of = published === null ? "published or not is unknown without the desired set" : `${published} of them published and still denied`;
  const sample = truncated ? "; a recent sample (the table is full or past the clients kept per run)" : "";
  const more = published !== null && published > 0 ? ": see travis-allowlist denials" : "";
  return [`  denied: ${who} in the last ${table.window} (${table.table}), ${of}${sample}${more}`];
}
