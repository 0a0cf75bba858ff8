import type { AlertState, FiringAlert } from "../model/alerts.js";
import type { StoredNames } from "./stored-names.js";

/** A condition's key holds its target between its event and its guard (`event|target|guard`): it is renamed with it. */
function renamedKey(key: string, from: string, to: string): string {
  return from === to ? key : key.replace(`|${from}|`, `|${to}|`);
}

/** The alert state as written to its file: targets, summaries and sink names scrubbed. */
export function storedAlertState(state: AlertState, names: StoredNames): AlertState {
  const firing = Object.entries(state.firing).map(([key, alert]): [string, FiringAlert] => {
    const target = names.store(alert.target);
    const unsent = alert.unsent && { ...alert.unsent, sinks: alert.unsent.sinks.map((s) => names.store(s)) };
    return [renamedKey(key, alert.target, target), { ...alert, target, summary: names.store(alert.summary), ...(unsent ? { unsent } : {}) }];
  });
  return { ...state, firing: Object.fromEntries(firing) };
}

/**
 * The alert state read from its file, with the configured names back. A
 * condition whose target stands for more than one configured target is left
 * out: it starts again, and is sent again, rather than be taken for another's.
 */
export function restoredAlertState(stored: AlertState, names: StoredNames): AlertState {
  const firing = Object.entries(stored.firing).flatMap(([key, alert]): Array<[string, FiringAlert]> => {
    const targets = names.restore(alert.target);
    const target = targets[0];
    if (targets.length !== 1 || target === undefined) return [];
    const unsent = alert.unsent && { ...alert.unsent, sinks: alert.unsent.sinks.flatMap((s) => names.restore(s)) };
    return [[renamedKey(key, alert.target, target), { ...alert, target, ...(unsent ? { unsent } : {}) }]];
  });
  return { ...stored, firing: Object.fromEntries(firing) };
}
