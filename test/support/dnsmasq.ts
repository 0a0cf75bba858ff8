import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { freePort } from "./ports.js";

export const DNSMASQ_BIN = "/usr/sbin/dnsmasq";

export interface RunningDnsmasq {
  resolver: string;
  stop(): Promise<void>;
}

function waitForTcp(port: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = connect({ host: "127.0.0.1", port });
      s.once("connect", () => {
        s.destroy();
        resolve();
      });
      s.once("error", () => (Date.now() > deadline ? reject(new Error("dnsmasq did not start")) : setTimeout(attempt, 20)));
    };
    attempt();
  });
}

/** A real dnsmasq on loopback answering only the given host records; nothing is forwarded. */
export async function startDnsmasq(records: Record<string, string[]>): Promise<RunningDnsmasq> {
  if (!existsSync(DNSMASQ_BIN)) throw new Error(`${DNSMASQ_BIN} is missing: apt-get install -y dnsmasq-base`);
  const port = await freePort();
  const args = [
    "--keep-in-foreground",
    "--conf-file=/dev/null",
    "--pid-file=",
    `--port=${port}`,
    "--listen-address=127.0.0.1",
    "--bind-interfaces",
    "--no-resolv",
    "--no-hosts",
    "--user=root",
    "--local-ttl=60",
    ...Object.entries(records).flatMap(([name, addresses]) => addresses.map((a) => `--host-record=${name},${a}`)),
  ];
  const child = spawn(DNSMASQ_BIN, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  try {
    await waitForTcp(port);
  } catch (err) {
    child.kill("SIGKILL");
    throw new Error(`${(err as Error).message}: ${stderr}`, { cause: err });
  }
  return {
    resolver: `127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}
