import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";

/**
 * A FAKE HAProxy runtime API, for the faults a real HAProxy will not give on
 * demand: a connection closed in the middle of a payload, an error reply
 * to `commit` after a clean prepare and verify, and a CLI that refuses
 * `get map` after a good commit, and a reply that does not parse. It speaks just enough of the interactive
 * protocol for one map.
 */
export interface FakeRuntime {
  target: string;
  file: string;
  /** Committed entries, `key value`. */
  entries: string[];
  commands: string[];
  stop(): Promise<void>;
}

export type FakeFault =
  | { commitError: string }
  | { closeMidPayload: true }
  | { refuseGet: true }
  | { noEntryCount: true; directEditBeforeCommit: string }
  /** A reply no HAProxy gives (not an error, not the expected shape) to the command that starts with this. */
  | { garble: string };

export async function startFakeRuntime(dir: string, initial: string[], behaviour: FakeFault): Promise<FakeRuntime> {
  const file = "/etc/haproxy/maps/travis.map";
  const path = join(dir, "fake-runtime.sock");
  const state = { entries: [...initial], staged: [] as string[], commands: [] as string[] };
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.setEncoding("utf8");
    let buffer = "";
    let payload: string[] | undefined;
    const reply = (text: string) => socket.write(`${text}\n> `);
    const entryLines = (list: string[]) => list.map((e, i) => `0x${(i + 1).toString(16)} ${e}\n`).join("");
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      for (let nl = buffer.indexOf("\n"); nl !== -1; nl = buffer.indexOf("\n")) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (payload) {
          if (line === "") {
            state.staged.push(...payload);
            reply(`${"+ ".repeat(payload.length + 1)}`);
            payload = undefined;
          } else {
            payload.push(line);
            if ("closeMidPayload" in behaviour) socket.destroy();
          }
          continue;
        }
        state.commands.push(line);
        if ("garble" in behaviour && line.startsWith(behaviour.garble)) reply("[6]: what is this?\n");
        else if (line === "prompt" || line === "set severity-output number") reply("");
        else if (line === "show info") reply("Name: HAProxy\nVersion: 2.6.12-fake\n");
        else if (line === "show map")
          reply(
            "noEntryCount" in behaviour
              ? `# id (file) description\n0 (${file}) pattern loaded from file '${file}' curr_ver=0 next_ver=0\n`
              : `# id (file) description\n0 (${file}) pattern loaded from file '${file}' curr_ver=0 next_ver=0 entry_cnt=${state.entries.length + state.staged.length}\n`,
          );
        else if (line === `show map ${file}`) reply(entryLines(state.entries));
        else if (line === `prepare map ${file}`) {
          state.staged = [];
          reply("[6]: New version created: 1\n");
        } else if (line === `add map @1 ${file} <<`) payload = [];
        else if (line === `show map @1 ${file}`) {
          reply(entryLines(state.staged));
          // Another writer edits the live list directly, between the check of the staged version and the commit.
          if ("directEditBeforeCommit" in behaviour) state.entries.push(behaviour.directEditBeforeCommit);
        } else if (line === `commit map @1 ${file}`) {
          if ("commitError" in behaviour) reply(`[3]: ${behaviour.commitError}\n`);
          else {
            state.entries = [...state.staged];
            reply("");
          }
        } else if (line.startsWith(`get map ${file} `) && !("refuseGet" in behaviour)) reply("type=ip, case=sensitive, found=no\n");
        else if (line === "quit") socket.end();
        else reply("[3]: Unknown command.\n");
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(path, () => resolve()));
  return {
    target: `unix://${path}`,
    file,
    get entries() {
      return state.entries;
    },
    commands: state.commands,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
