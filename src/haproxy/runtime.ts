import { type ErrorCode, HaproxyError } from "../errors.js";
import { firstEntries } from "../model/entries.js";
import {
  assertWritable,
  chunkPayload,
  commands,
  type LoadedList,
  mapPayloadCommands,
  mapPayloadHead,
  mapPayloadLines,
  parseInfoProcess,
  parseInfoVersion,
  parseListing,
  parseMatch,
  parsePreparedVersion,
  protocolError,
  quoted,
  type Response,
  sameEntries,
  supportsTransactions,
} from "./protocol.js";
import type { ListKind, LiveEntry, MatchAnswer, WritableEntry } from "../model/list.js";
import { refusal } from "./refusal.js";
import { type Deadline, RuntimeSession, type SessionOptions } from "./session.js";
import { EntriesReader } from "./entries-reader.js";
import { type EntryAllowance, type LiveEntryBudget, listLimit } from "./live-budget.js";
import type { Scrubber } from "../util/secrets.js";
import type { TableRead, TableReadOptions } from "./stick-table-reader.js";
import { readDeniedTable } from "./table-read.js";

/** What was live when the list was read; a commit by anyone else since then is a conflict. */
export interface ListSnapshot {
  currentVersion?: number;
  entryCount?: number;
  /** The entries as read, to tell a direct edit from another writer's staged (uncommitted) entries. */
  entries?: ReadonlyArray<WritableEntry>;
}

export interface LiveList {
  entries: LiveEntry[];
  snapshot: ListSnapshot;
}

export interface ApplyOutcome {
  /** The committed version, for transactions. */
  version?: number;
  mode: "transaction" | "incremental";
}

/**
 * What a run's reading of one instance is held to: the run's budget of live
 * entries, and deadlines taken from what is left of runTimeout, one for
 * connecting and reading the list, a later one for everything after.
 */
export interface ReadLimits {
  budget: LiveEntryBudget;
  readBy?: Deadline | undefined;
  endBy?: Deadline | undefined;
}

/** What a reply parser makes of a reply; a reply it does not understand is named after the instance that sent it. */
function readReply<T>(target: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw err instanceof HaproxyError ? err.at(target) : err;
  }
}

/** One HAProxy instance seen through its runtime socket, for the length of one run. */
export class HaproxyInstance {
  private constructor(
    private readonly session: RuntimeSession,
    readonly target: string,
    readonly version: string,
    /** The process that answered (`pid@start`), to notice a restarted HAProxy; undefined if `show info` lacks it. */
    readonly process: string | undefined,
    private readonly scrubber: Scrubber | undefined,
    private readonly limits: ReadLimits | undefined,
  ) {}

  /** `scrubber` keeps the config's secrets out of the reply text an error quotes. */
  static async connect(target: string, options: SessionOptions & { scrubber?: Scrubber; reading?: ReadLimits | undefined }): Promise<HaproxyInstance> {
    const { reading, ...sessionOptions } = options;
    const session = await RuntimeSession.open(target, { ...sessionOptions, deadline: reading?.readBy });
    try {
      const info = await session.send(commands.info);
      return new HaproxyInstance(
        session,
        target,
        readReply(target, () => parseInfoVersion(info.text)),
        parseInfoProcess(info.text),
        options.scrubber,
        reading,
      );
    } catch (err) {
      await session.close();
      throw err;
    }
  }

  get transactional(): boolean {
    return supportsTransactions(this.version);
  }

  async close(): Promise<void> {
    await this.session.close();
  }

  private async run(command: string, what: string, code: ErrorCode = "E_HAPROXY_COMMAND"): Promise<Response> {
    const response = await this.session.send(command);
    if (response.isError) throw this.refused(what, response, code);
    return response;
  }

  private refused(what: string, response: Response, code: ErrorCode, consequence?: string): HaproxyError {
    return refusal(this.target, this.version, what, response, code, consequence, this.scrubber);
  }

  async lists(kind: ListKind): Promise<LoadedList[]> {
    const response = await this.run(commands.list(kind), `show ${kind}`);
    return readReply(this.target, () => parseListing(response.text, this.scrubber));
  }

  /** The list's entry in `show map`/`show acl`; fails clearly when HAProxy has no such file loaded. */
  private async loaded(kind: ListKind, file: string): Promise<LoadedList> {
    const loaded = await this.lists(kind);
    const found = loaded.find((l) => l.file === file);
    if (found) return found;
    const known = loaded.map((l) => l.file).filter((f) => f !== "");
    const other: ListKind = kind === "map" ? "acl" : "map";
    // `src -f file` loads an ACL, `map_ip(file)` a map: the same path under the other kind is the likely mistake.
    if ((await this.lists(other).catch(() => [])).some((l) => l.file === file)) {
      throw new HaproxyError(
        "E_HAPROXY_UNKNOWN_MAP",
        this.target,
        `${file} is loaded as ${other === "acl" ? "an ACL" : "a map"}, not as ${kind === "acl" ? "an ACL" : "a map"}: set haproxy.kind: ${other}`,
      );
    }
    throw new HaproxyError(
      "E_HAPROXY_UNKNOWN_MAP",
      this.target,
      `no ${kind} loaded from ${file}; loaded: ${known.length > 0 ? known.join(", ") : "none"} (haproxy.map must be the path exactly as HAProxy loaded it)`,
    );
  }

  /** A list's entries, read as they stream in and counted against `allowance` (by default, only limits.maxLiveEntries). */
  private async entries(kind: ListKind, file: string, version?: number, allowance?: EntryAllowance): Promise<LiveEntry[]> {
    const limit = allowance ?? listLimit(this.limits?.budget.maxLiveEntries ?? Number.MAX_SAFE_INTEGER);
    const reply = await this.session.read(commands.show(kind, file, version), new EntriesReader(kind, limit, this.scrubber));
    if (reply.ok) return reply.entries;
    if (reply.response.isError) throw this.refused(`show ${kind}`, reply.response, "E_HAPROXY_COMMAND");
    // A message that is neither an entry nor an error (severity above 3) is no list either.
    throw protocolError(`unexpected line in ${kind} entries: ${quoted(reply.response.text, this.scrubber)}`).at(this.target);
  }

  /**
   * Every live entry of a loaded map or ACL file, with the counters that reveal
   * later writers. Within a run, its entries count against the run's budget
   * until the run ends, and from then on the session keeps to the run's later deadline.
   */
  async readList(kind: ListKind, file: string): Promise<LiveList> {
    const { currentVersion, entryCount } = await this.loaded(kind, file);
    const allowance = this.limits?.budget.forList();
    let entries: LiveEntry[];
    try {
      entries = await this.entries(kind, file, undefined, allowance);
    } catch (err) {
      allowance?.release();
      throw err;
    }
    if (this.limits) this.session.setDeadline(this.limits.endBy);
    const snapshot: ListSnapshot = { entries };
    if (currentVersion !== undefined) snapshot.currentVersion = currentVersion;
    if (entryCount !== undefined) snapshot.entryCount = entryCount;
    return { entries, snapshot };
  }

  /** The denied clients' stick table (`show table NAME`), read as it streams in. */
  async readTable(table: string, options: TableReadOptions): Promise<TableRead> {
    try {
      return await readDeniedTable(this.session, table, options, this.scrubber);
    } catch (err) {
      throw err instanceof HaproxyError ? err.at(this.target) : err;
    }
  }

  /** HAProxy's own matcher on each address, pipelined on the one connection. */
  async match(kind: ListKind, file: string, addresses: ReadonlyArray<string>): Promise<MatchAnswer[]> {
    if (addresses.length === 0) return [];
    const replies = await this.session.sendAll(addresses.map((address) => commands.match(kind, file, address)));
    return replies.map((reply, i) => {
      const address = addresses[i] as string;
      if (reply.isError) throw this.refused(`get ${kind} ${address}`, reply, "E_HAPROXY_COMMAND");
      return readReply(this.target, () => parseMatch(kind, address, reply.text, this.scrubber));
    });
  }

  async isLive(kind: ListKind, file: string, version: number, count: number): Promise<boolean> {
    const list = await this.loaded(kind, file);
    return list.currentVersion === version && list.entryCount === count;
  }

  private conflict(detail: string): HaproxyError {
    const error = new HaproxyError("E_HAPROXY_CONFLICT", this.target, `another writer changed the list since it was read (${detail}); not committed`);
    error.liveState = "unchanged";
    return error;
  }

  /**
   * Replaces the whole list in one transaction. The prepared version is read
   * back and compared with `content` before commit: a version that cannot be
   * verified is never committed, so the live list keeps its old entries.
   */
  async replace(kind: ListKind, file: string, content: WritableEntry[], snapshot: ListSnapshot = {}): Promise<ApplyOutcome> {
    // Everything is checked before the first byte of the change is sent.
    const lines = kind === "map" ? mapPayloadLines(content) : undefined;
    if (!lines) assertWritable(kind, content);
    let version: number | undefined;
    try {
      const prepared = await this.run(commands.prepare(kind, file), `prepare ${kind}`, "E_HAPROXY_PREPARE");
      version = readReply(this.target, () => parsePreparedVersion(prepared.text, this.scrubber));
      await this.stage(kind, file, version, content, lines, snapshot);
      await this.checkUnchanged(kind, file, snapshot, content.length);
    } catch (err) {
      // Nothing before the commit is visible to traffic: the live list still holds its old entries.
      if (err instanceof HaproxyError) err.liveState = "unchanged";
      if (version !== undefined) await this.abandon(kind, file, version);
      throw err;
    }
    // A connection lost from here on leaves the outcome of the commit unknown.
    const committed = await this.session.send(commands.commit(kind, file, version));
    if (committed.isError && /out of range/i.test(committed.text)) throw this.conflict(`commit @${version}: ${committed.text}`);
    if (committed.isError) {
      const error = this.refused(`commit ${kind} @${version}`, committed, "E_HAPROXY_COMMIT");
      error.liveState = "unchanged";
      throw error;
    }
    return { version, mode: "transaction" };
  }

  /**
   * Just before commit: nobody committed (the current version moved) and
   * nobody added or deleted entries directly (the count moved beyond what we
   * staged) since the list was read.
   */
  private async checkUnchanged(kind: ListKind, file: string, snapshot: ListSnapshot, staged: number): Promise<void> {
    const now = await this.loaded(kind, file);
    if (snapshot.currentVersion !== undefined && now.currentVersion !== snapshot.currentVersion) {
      throw this.conflict(`version ${snapshot.currentVersion} became ${String(now.currentVersion)}`);
    }
    const counted = snapshot.entryCount !== undefined && now.entryCount !== undefined;
    // Without entry_cnt (HAProxy 2.4), nothing cheap reveals a direct edit: the live entries are read again.
    const countMoved = counted && now.entryCount !== (snapshot.entryCount as number) + staged;
    // With nothing read beforehand there is nothing to compare against.
    if (snapshot.entries && (countMoved || !counted)) {
      // The count also moves when someone else stages a version; only a change to the live entries is a conflict.
      const live = await this.entries(kind, file);
      if (!sameEntries(live, snapshot.entries).equal) {
        throw this.conflict(
          counted
            ? `${now.entryCount} entries where ${(snapshot.entryCount as number) + staged} were expected, and the live entries changed`
            : "the live entries changed",
        );
      }
    }
  }

  /** A prepared version that will never be committed is cleared, so its entries do not sit in HAProxy's memory. */
  private async abandon(kind: ListKind, file: string, version: number): Promise<void> {
    await this.session.send(commands.clear(kind, file, version)).catch(() => undefined);
  }

  /** Fills prepared version `version` with exactly `content` and proves it by reading it back. */
  private async stage(
    kind: ListKind,
    file: string,
    version: number,
    content: WritableEntry[],
    lines: string[] | undefined,
    snapshot: ListSnapshot,
  ): Promise<void> {
    const fills = lines ? chunkPayload(mapPayloadHead(file, version), lines) : content.map((entry) => commands.addAcl(file, entry.key, version));
    const replies = await this.session.sendAll(fills);
    const failed = replies.find((r) => r.isError);
    if (failed) throw this.refused(`add ${kind} @${version}`, failed, "E_HAPROXY_ADD", "; not committed");
    const staged = await this.entries(kind, file, version);
    const check = sameEntries(staged, content);
    if (!check.equal) {
      // A commit by another writer purges older prepared versions, ours included.
      const now = await this.loaded(kind, file);
      if (snapshot.currentVersion !== undefined && now.currentVersion !== snapshot.currentVersion) {
        throw this.conflict(`version ${snapshot.currentVersion} became ${String(now.currentVersion)} while staging`);
      }
      throw new HaproxyError(
        "E_HAPROXY_VERIFY",
        this.target,
        `prepared version ${version} does not hold the intended entries (missing: ${firstEntries(check.missing)}; unexpected: ${firstEntries(check.unexpected)}); not committed`,
      );
    }
  }

  /**
   * For HAProxy older than 2.4: additions first, then deletions by reference,
   * so an address wanted before and after is never absent.
   */
  async applyIncremental(kind: ListKind, file: string, add: WritableEntry[], remove: LiveEntry[]): Promise<ApplyOutcome> {
    assertWritable(kind, add);
    const adds = kind === "map" ? mapPayloadCommands(file, add, undefined) : add.map((entry) => commands.addAcl(file, entry.key));
    const addReplies = await this.session.sendAll(adds);
    const addFailed = addReplies.find((r) => r.isError);
    if (addFailed) throw this.refused(`add ${kind}`, addFailed, "E_HAPROXY_ADD", "; nothing removed");
    const delReplies = await this.session.sendAll(remove.map((entry) => commands.deleteRef(kind, file, entry.ref)));
    const delFailed = delReplies.find((r) => r.isError);
    if (delFailed) throw this.refused(`del ${kind}`, delFailed, "E_HAPROXY_DEL", "; additions are live, some removals are not");
    return { mode: "incremental" };
  }
}
