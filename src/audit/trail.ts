import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { dirname } from "node:path";
import { createInterface } from "node:readline";
import { AllowlistError, type ErrorCode } from "../errors.js";
import { ensurePrivateDir, readFileNoFollow, writeFileAtomic } from "../util/atomic.js";
import { acquireLock, type LockOptions } from "../util/lock.js";
import { permissionAdviceSync } from "../util/permission.js";
import {
  type AuditBody,
  type AuditHead,
  type AuditRecord,
  isKeyed,
  sealHead,
  sealHolds,
  sealRecord,
  serialise,
  verifyChain,
  type VerifyResult,
} from "./record.js";
import { parseAuditHead, parseAuditLine, parseQuietRuns } from "./schema.js";
import { type HeadFound, tipFailure } from "./tip.js";

export class AuditError extends AllowlistError {
  readonly path: string;

  constructor(code: ErrorCode, path: string, message: string, options?: { cause?: unknown }) {
    super(code, `audit trail ${path}: ${message}`, options);
    this.path = path;
  }
}

const TAIL_CHUNK = 64 * 1024;

/** The events that show a reviewed plan was used: a run began applying it, applied it, or found nothing left to do. */
const USED_BY: ReadonlySet<AuditRecord["event"]> = new Set(["intent", "applied", "in-sync"]);

/** What open(2) answers for a symlink opened with O_NOFOLLOW (ELOOP on Linux, EMLINK on some BSDs). */
const isSymlinkRefusal = (err: unknown) => ["ELOOP", "EMLINK"].includes((err as NodeJS.ErrnoException).code ?? "");

/** The last complete line of a file, read backwards so a long trail costs nothing; a symlink in its place is refused, never followed. */
async function lastLine(path: string): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    const { size } = await handle.stat();
    // Chunks are searched as they are read and joined once: a record of several megabytes costs one pass, not one per chunk.
    const chunks: Buffer[] = [];
    let end = size;
    let skipFinalNewline = true;
    while (end > 0) {
      const start = Math.max(0, end - TAIL_CHUNK);
      const chunk = Buffer.alloc(end - start);
      await handle.read(chunk, 0, chunk.length, start);
      end = start;
      let searchEnd = chunk.length;
      if (skipFinalNewline) {
        if (chunk[chunk.length - 1] === 0x0a) searchEnd--;
        skipFinalNewline = false;
      }
      const cut = searchEnd > 0 ? chunk.lastIndexOf(0x0a, searchEnd - 1) : -1;
      if (cut !== -1) {
        chunks.unshift(chunk.subarray(cut + 1));
        break;
      }
      chunks.unshift(chunk);
    }
    const text = Buffer.concat(chunks).toString("utf8").replace(/\n$/, "");
    return text === "" ? undefined : text;
  } finally {
    await handle.close();
  }
}

/** A head file's text as a head, or why it is not one. */
function headOf(text: string, path: string): Extract<HeadFound, { kind: "head" | "invalid" }> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { kind: "invalid", reason: `the head file ${path} is not valid JSON` };
  }
  const head = parseAuditHead(json);
  return head ? { kind: "head", head } : { kind: "invalid", reason: `the head file ${path} is not a head record` };
}

export interface AuditTrailOptions {
  lock?: Partial<LockOptions>;
  /** `audit.key`: records are sealed with HMAC-SHA256, and a trail sealed with another key is not extended. */
  key?: string;
}

/**
 * The append-only, hash-chained JSON-lines file. Appends take a lock, link
 * to the last record, write with O_APPEND and fsync, then move the head.
 */
export class AuditTrail {
  readonly headPath: string;
  private readonly lockPath: string;
  private readonly lockOptions: LockOptions;
  private readonly key: string | undefined;

  constructor(
    readonly path: string,
    options: AuditTrailOptions = {},
  ) {
    this.key = options.key;
    this.headPath = `${path}.head`;
    this.lockPath = `${path}.lock`;
    this.lockOptions = { timeoutMs: 10_000, staleMs: 120_000, busy: { code: "E_AUDIT_LOCK", what: "the audit trail" }, ...options.lock };
  }

  private wrap(code: ErrorCode, what: string, err: unknown): AuditError {
    if (err instanceof AllowlistError) return new AuditError(err.code, this.path, err.message, { cause: err });
    // A permission problem says who this process is, who owns the trail, and the fix.
    const advice = permissionAdviceSync(dirname(this.path), err);
    return new AuditError(code, this.path, `${what}: ${advice ?? (err as Error).message}`, { cause: err });
  }

  /**
   * Every read of the trail and its head goes through here: a symlink planted
   * at either path is refused by name, never followed (it could pass off
   * another file, or another trail, as this one).
   */
  private symlinkFound(file: string, err: unknown): AuditError {
    return new AuditError(
      "E_AUDIT_SYMLINK",
      this.path,
      `a symlink was found at ${file}: audit files are never read through a link; remove it and put the real file there`,
      { cause: err },
    );
  }

  /** A file's text, undefined when it does not exist. */
  private async read(file: string): Promise<string | undefined> {
    try {
      return await readFileNoFollow(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      if (isSymlinkRefusal(err)) throw this.symlinkFound(file, err);
      throw this.wrap("E_AUDIT_READ", `cannot read ${file}`, err);
    }
  }

  /** Identical in-sync runs left out since record `afterSeq` (see `audit.heartbeat`). */
  async quietRuns(afterSeq: number): Promise<number> {
    return parseQuietRuns(await this.read(`${this.path}.quiet`).catch(() => undefined), afterSeq);
  }

  /** Counts one more run left out after record `afterSeq`; the next record carries the count. */
  async noteQuietRun(afterSeq: number): Promise<number> {
    // A quiet run links nothing, but counting it on a cut trail would report the cut run as in sync.
    await this.refuseCutEnd(await this.last());
    const count = (await this.quietRuns(afterSeq)) + 1;
    await writeFileAtomic(`${this.path}.quiet`, `${JSON.stringify({ afterSeq, count })}\n`, { mode: 0o600 });
    return count;
  }

  /** The last record, or undefined for a new trail; a damaged last line is an error. */
  async last(): Promise<AuditRecord | undefined> {
    let line: string | undefined;
    try {
      line = await lastLine(this.path);
    } catch (err) {
      if (isSymlinkRefusal(err)) throw this.symlinkFound(this.path, err);
      throw this.wrap("E_AUDIT_READ", "cannot read", err);
    }
    if (line === undefined) return undefined;
    const record = parseAuditLine(line);
    if (!record) throw new AuditError("E_AUDIT_CORRUPT", this.path, "the last record is not a valid record; run `travis-allowlist audit verify`");
    return record;
  }

  async append(body: AuditBody): Promise<AuditRecord> {
    try {
      await ensurePrivateDir(dirname(this.path));
    } catch (err) {
      throw this.wrap("E_AUDIT_WRITE", "cannot create its directory", err);
    }
    let release: () => Promise<void>;
    try {
      release = await acquireLock(this.lockPath, this.lockOptions);
    } catch (err) {
      throw this.wrap("E_AUDIT_WRITE", "cannot take the lock", err);
    }
    try {
      const previous = await this.last();
      if (previous && isKeyed(previous.hash) && !sealHolds(previous, this.key)) {
        throw new AuditError(
          "E_AUDIT_KEY",
          this.path,
          this.key === undefined ? "the trail is keyed (HMAC-SHA256); set audit.key to extend it" : `record ${previous.seq} was not sealed with this audit.key`,
        );
      }
      const head = await this.refuseCutEnd(previous);
      const record = sealRecord(body, previous ? { seq: previous.seq, hash: previous.hash } : null, this.key);
      try {
        // Appends never follow a link planted in the trail's place.
        // A head one behind is caught up first: a run killed after this append again leaves it one behind, never two.
        if (previous && head.kind === "head" && head.head.seq !== previous.seq) await this.moveHead(previous);
        const handle = await open(this.path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
        try {
          await handle.write(serialise(record));
          await handle.sync();
        } finally {
          await handle.close();
        }
        await this.moveHead(record);
      } catch (err) {
        throw this.wrap("E_AUDIT_WRITE", "cannot write", err);
      }
      return record;
    } finally {
      await release();
    }
  }

  /** The head file as found: a symlink or damage in its place is reported, never followed or thrown. */
  private async headFound(): Promise<HeadFound> {
    let text: string;
    try {
      text = await readFileNoFollow(this.headPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return { kind: "missing" };
      if (isSymlinkRefusal(err)) return { kind: "symlink" };
      throw this.wrap("E_AUDIT_READ", `cannot read ${this.headPath}`, err);
    }
    return headOf(text, this.headPath);
  }

  /** Sealed with the key too: a head rewritten to match a shortened trail does not verify. */
  private async moveHead(tip: AuditHead): Promise<void> {
    await writeFileAtomic(this.headPath, `${JSON.stringify(sealHead({ seq: tip.seq, hash: tip.hash }, this.key))}\n`);
  }

  /** Nothing is linked to a last record that is not the one the head names: the append would seal the cut into the chain. */
  private async refuseCutEnd(last: AuditRecord | undefined): Promise<HeadFound> {
    const found = await this.headFound();
    const failure = tipFailure(last, found, this.key);
    if (failure === undefined) return found;
    throw new AuditError(
      "E_AUDIT_TAMPERED",
      this.path,
      `${failure}; nothing was appended, and nothing is applied while the trail is in this state: run \`travis-allowlist audit verify\`, keep the trail and ${this.headPath} as evidence, and start a new trail deliberately (docs/operations.md)`,
    );
  }

  /**
   * The record that shows a reviewed plan in use: the intent of a run that
   * applied it, or an outcome that applied it or found nothing to do. The
   * trail is read line by line, never whole: it only grows, one lookup per
   * `--plan` is cheap, and an index kept beside it would be one more file to
   * trust. A forged record can only make a plan count as used, never the
   * opposite, so the seals are not checked here.
   */
  async reviewedPlanUse(digest: string): Promise<AuditRecord | undefined> {
    let handle;
    try {
      handle = await open(this.path, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      if (isSymlinkRefusal(err)) throw this.symlinkFound(this.path, err);
      throw this.wrap("E_AUDIT_READ", "cannot read", err);
    }
    // The stream owns the handle from here: destroying it closes the file, also on an early return.
    const input = handle.createReadStream({ encoding: "utf8" });
    const lines = createInterface({ input, crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        // Most lines never name the digest: they are not parsed.
        if (!line.includes(digest)) continue;
        const record = parseAuditLine(line);
        if (record?.reviewedPlan?.digest === digest && USED_BY.has(record.event)) return record;
      }
      return undefined;
    } finally {
      lines.close();
      input.destroy();
    }
  }

  async readAll(): Promise<AuditRecord[]> {
    const text = (await this.read(this.path)) ?? "";
    return text
      .split("\n")
      .filter((l) => l.trim() !== "")
      .flatMap((l) => {
        const record = parseAuditLine(l);
        return record ? [record] : [];
      });
  }

  async verify(anchor?: AuditHead): Promise<VerifyResult> {
    // The head first: an append in between can only leave it behind the trail, which verifies, never ahead of it.
    const headText = await this.read(this.headPath);
    const text = (await this.read(this.path)) ?? "";
    let head: AuditHead | null = null;
    if (headText !== undefined) {
      const found = headOf(headText, this.headPath);
      if (found.kind === "invalid") return { ok: false, records: 0, line: 0, reason: found.reason };
      head = found.head;
    }
    const verdict = verifyChain(text, head, { ...(this.key === undefined ? {} : { key: this.key }), ...(anchor ? { anchor } : {}) });
    if (!verdict.ok && verdict.keyMissing) {
      throw new AuditError(
        "E_AUDIT_KEY_MISSING",
        this.path,
        `this trail is keyed; set audit.key to the key it was sealed with (record ${verdict.line} is sealed with HMAC-SHA256): without it, whether the trail is intact cannot be told`,
      );
    }
    return verdict;
  }
}
