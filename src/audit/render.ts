import type { AuditActor, AuditRecord } from "./record.js";

/** `user@host pod ns/name (trigger)`. */
export function actorText(actor: AuditActor): string {
  return `${actor.user}@${actor.host}${actor.pod ? ` pod ${actor.namespace ?? ""}/${actor.pod}` : ""} (${actor.trigger})`;
}

function changes(record: AuditRecord): { add: string[]; remove: string[] } {
  const add = new Set<string>();
  const remove = new Set<string>();
  for (const instance of record.instances) {
    instance.add.forEach((e) => add.add(e));
    instance.remove.forEach((e) => remove.add(e));
  }
  return { add: [...add], remove: [...remove] };
}

/** One readable line per record: when, what, who, how much, which entries. */
export function renderAuditLine(record: AuditRecord): string {
  const { add, remove } = changes(record);
  const who = actorText(record.actor);
  const entries = [...add.map((e) => `+${e}`), ...remove.map((e) => `-${e}`)];
  const shown = entries.slice(0, 4).join(", ") + (entries.length > 4 ? `, … (+${entries.length - 4} more)` : "");
  const detail = [
    record.held ? `held by ${record.held.guard}` : "",
    record.error ? `error: ${record.error.message}` : "",
    record.forced ? "forced" : "",
    record.unfinishedIntent ? `previous run ${record.unfinishedIntent.runId} left no outcome` : "",
    record.quietRuns ? `after ${record.quietRuns} identical in-sync runs not recorded` : "",
  ].filter((d) => d !== "");
  return [`#${record.seq}`, record.time, record.event.padEnd(8), who, `+${add.length}/-${remove.length}`, shown, detail.join("; "), `run ${record.runId}`]
    .filter((part) => part !== "")
    .join("  ");
}
