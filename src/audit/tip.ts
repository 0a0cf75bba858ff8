import { type AuditHead, type AuditRecord, headSealHolds, isKeyed } from "./record.js";

/** The head file as an append finds it beside the trail. */
export type HeadFound = { kind: "head"; head: AuditHead } | { kind: "missing" } | { kind: "symlink" } | { kind: "invalid"; reason: string };

/**
 * Why the trail may not be extended from `last`, or undefined when it may.
 * The head is written after every append, so the last record must be the one
 * it names; an append that linked to anything else would seal a cut into the
 * chain and make `audit verify` call the trail intact. Pure.
 *
 * The head may lag one record behind (killed between the append and the
 * head's move), never run ahead. On a keyed trail the head must carry a seal
 * that holds under `key`: anyone can write an unsealed head that matches a
 * shortened trail. On an unkeyed trail whoever can cut the trail can also
 * rewrite its head, so the check catches only a cut that left the head alone;
 * a head deleted or replaced by a link is refused either way, since every
 * version of this tool has written one.
 */
export function tipFailure(last: AuditRecord | undefined, found: HeadFound, key: string | undefined): string | undefined {
  if (found.kind === "symlink") return "the head file is a symlink: it was replaced, so records may have been removed from the end";
  if (found.kind === "invalid") return `${found.reason}: records may have been removed from the end`;
  if (last === undefined) {
    return found.kind === "head" && found.head.seq > 0
      ? `the trail has no records but the head file records #${found.head.seq}: the trail was emptied or replaced`
      : undefined;
  }
  if (found.kind === "missing") return `the head file is missing though the trail has ${last.seq} record(s): records may have been removed from the end`;
  const { head } = found;
  if (isKeyed(last.hash) && key !== undefined && !headSealHolds(head, key)) {
    return head.seal === undefined
      ? "the head file is not sealed with audit.key though the trail is keyed: anyone could have written it to match a shortened trail"
      : "the head file's seal does not match audit.key: the head was rewritten, so records may have been removed from the end";
  }
  if (head.seq === last.seq && head.hash === last.hash) return undefined;
  if (head.seq === last.seq - 1 && head.hash === last.prevHash) return undefined;
  if (head.seq > last.seq) return `the trail ends at record ${last.seq} but the head file records ${head.seq}: records were removed from the end`;
  return `record ${last.seq} is not the record the head file names (#${head.seq}): the end of the trail was rewritten`;
}
