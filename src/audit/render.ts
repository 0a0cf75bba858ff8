import type { AuditActor, AuditRecord } from "./record.js";

/** `user@host pod ns/name (trigger)`. */
export function actorText(actor: AuditActor): string {
  return `${actor.user}@${actor.host}${actor.pod ? ` pod ${actor.namespace ?? ""}/${actor.pod}` : ""} (${actor.trigger})`;
}

const ENTRIES_SHOWN = 4;
const GROUPS_SHOWN = 3;
const TARGETS_SHOWN = 3;

function counted(record: AuditRecord): { add: number; remove: number } {
  const add = new Set<string>();
  const remove = new Set<string>();
  for (const instance of record.instances) {
    instance.add.forEach((e) => add.add(e));
    instance.remove.forEach((e) => remove.add(e));
  }
  return { add: add.size, remove: remove.size };
}

/**
 * Which entries changed on which instance: instances with the same changes
 * (and outcome) are named together, so a fleet that moved alike stays one
 * short phrase, and one that did not shows where it differs.
 */
function changesByInstance(record: AuditRecord): string {
  const groups = new Map<string, { targets: string[]; outcome: string; entries: string[] }>();
  for (const instance of record.instances) {
    const entries = [...instance.add.map((e) => `+${e}`), ...instance.remove.map((e) => `-${e}`)];
    if (entries.length === 0) continue;
    const outcome = instance.outcome === record.event || record.event === "intent" ? "" : ` (${instance.outcome})`;
    const key = JSON.stringify([outcome, entries]);
    const group = groups.get(key);
    if (group) group.targets.push(instance.target);
    else groups.set(key, { targets: [instance.target], outcome, entries });
  }
  const phrases = [...groups.values()].slice(0, GROUPS_SHOWN).map(({ targets, outcome, entries }) => {
    const shown = entries.slice(0, ENTRIES_SHOWN).join(", ") + (entries.length > ENTRIES_SHOWN ? `, … (+${entries.length - ENTRIES_SHOWN} more)` : "");
    const where = targets.length > TARGETS_SHOWN ? `${targets.length} instances (${targets.slice(0, TARGETS_SHOWN).join(", ")}, …)` : targets.join(", ");
    return `on ${where}${outcome}: ${shown}`;
  });
  const hidden = [...groups.values()].slice(GROUPS_SHOWN).reduce((n, g) => n + g.targets.length, 0);
  if (hidden > 0) phrases.push(`on ${hidden} more instance(s): other changes (--output json lists all)`);
  return phrases.join("; ");
}

/** One readable line per record: when, what, who, how much, which entries on which instances. */
export function renderAuditLine(record: AuditRecord): string {
  const { add, remove } = counted(record);
  const who = actorText(record.actor);
  const detail = [
    record.held ? `held by ${record.held.guard}` : "",
    record.error ? `error: ${record.error.message}` : "",
    record.forced ? "forced" : "",
    record.unfinishedIntent ? `previous run ${record.unfinishedIntent.runId} left no outcome` : "",
    record.quietRuns ? `after ${record.quietRuns} identical in-sync runs not recorded` : "",
  ].filter((d) => d !== "");
  return [`#${record.seq}`, record.time, record.event.padEnd(8), who, `+${add}/-${remove}`, changesByInstance(record), detail.join("; "), `run ${record.runId}`]
    .filter((part) => part !== "")
    .join("  ");
}
