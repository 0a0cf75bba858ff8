import { HaproxyError } from "../errors.js";
import { parseCidr } from "../model/cidr.js";
import type { ListKind, MatchAnswer } from "../model/list.js";
import type { InstanceResult } from "../model/result.js";
import { isOwned, type Ownership } from "../plan/plan.js";
import type { ExplainHistoryItem, ExplainInstance } from "./explain-report.js";
import { message } from "./results.js";

/** An instance's answers to every address asked, in order; an Error when it could not be asked; undefined when it was not reached. */
export type MatchReply = ReadonlyArray<MatchAnswer> | Error | undefined;

/** What explaining one address on one instance reads besides HAProxy's answer. */
export interface InstanceContext {
  kind: ListKind;
  ownership: Ownership;
  /** When each owned entry absent upstream is due to go. */
  pending: ReadonlyMap<string, string>;
  history: ExplainHistoryItem[];
}

/**
 * The answer to the `index`th of `asked` addresses. Answers come back in the
 * order asked, so a reply with more or fewer answers than asked cannot be
 * paired with the addresses at all: none of it is used.
 */
export function answerAt(target: string, reply: ReadonlyArray<MatchAnswer>, index: number, asked: number, kind: ListKind): MatchAnswer | HaproxyError {
  const answer = reply.length === asked ? reply[index] : undefined;
  return (
    answer ??
    new HaproxyError(
      "E_HAPROXY_PROTOCOL",
      target,
      `get ${kind} answered ${reply.length} of the ${asked} addresses asked, so no answer can be paired with its address; check that the target is HAProxy's runtime socket and run explain again`,
    )
  );
}

/** One address on one instance: HAProxy's own answer, whose entry admits it, a pending removal, drift and history. */
export function explainOnInstance(result: InstanceResult, reply: MatchReply, at: { index: number; asked: number }, context: InstanceContext): ExplainInstance {
  const answer = reply === undefined || reply instanceof Error ? reply : answerAt(result.target, reply, at.index, at.asked, context.kind);
  if (answer === undefined || answer instanceof Error) {
    const error = answer ?? result.error;
    return {
      target: result.target,
      admitted: null,
      entry: null,
      value: null,
      owner: null,
      pendingRemoval: null,
      unexpected: false,
      history: context.history,
      error: error ? message(error) : "not reached",
    };
  }
  const owned = answer.found && answer.key !== null && isOwned(answer.value === null ? {} : { value: answer.value }, context.ownership);
  const canonical = answer.key === null ? undefined : parseCidr(answer.key, { lenient: true });
  const entry = canonical?.ok ? canonical.cidr.text : answer.key;
  const pending = entry === null ? null : (context.pending.get(entry) ?? null);
  return {
    target: result.target,
    admitted: answer.found,
    entry,
    ...(answer.key !== null && answer.key !== entry ? { key: answer.key } : {}),
    value: answer.value,
    owner: answer.found ? (owned ? "self" : "foreign") : null,
    pendingRemoval: owned ? pending : null,
    unexpected: owned && entry !== null && (result.unexpected?.includes(entry) ?? false),
    history: context.history,
    error: null,
  };
}
