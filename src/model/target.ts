export type TargetAddress = { kind: "unix"; path: string } | { kind: "tcp" | "tls"; host: string; port: number };

/** `unix:///run/haproxy/admin.sock`, `tcp://127.0.0.1:9999` or `tls://haproxy-runtime:9999` (IPv6 hosts bracketed). */
export function parseTarget(target: string): TargetAddress | undefined {
  if (target.startsWith("unix://")) {
    const path = target.slice("unix://".length);
    return path.startsWith("/") ? { kind: "unix", path } : undefined;
  }
  const match = /^(tcp|tls):\/\/(?:\[([0-9A-Fa-f:]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(target);
  if (!match) return undefined;
  const port = Number(match[4]);
  if (port < 1 || port > 65535) return undefined;
  return { kind: match[1] as "tcp" | "tls", host: (match[2] ?? match[3]) as string, port };
}

/**
 * The warning for a runtime API anyone on the network can drive: a `tcp://`
 * target that answered admin commands with no authentication at all.
 */
export function transportWarning(target: string): string | undefined {
  if (parseTarget(target)?.kind !== "tcp") return undefined;
  return (
    "this tcp:// runtime API accepts admin commands unauthenticated: anyone who can reach it can rewrite HAProxy's lists and servers; " +
    'put a mutual-TLS listener in front of a unix stats socket and use tls:// (see docs/haproxy.md, "Securing the runtime API"), or use a unix:// socket'
  );
}
