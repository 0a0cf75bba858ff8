export type TargetAddress = { kind: "unix"; path: string } | { kind: "tcp"; host: string; port: number };

/** `unix:///run/haproxy/admin.sock` or `tcp://127.0.0.1:9999` (IPv6 hosts bracketed). */
export function parseTarget(target: string): TargetAddress | undefined {
  if (target.startsWith("unix://")) {
    const path = target.slice("unix://".length);
    return path.startsWith("/") ? { kind: "unix", path } : undefined;
  }
  const match = /^tcp:\/\/(?:\[([0-9A-Fa-f:]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(target);
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port < 1 || port > 65535) return undefined;
  return { kind: "tcp", host: (match[1] ?? match[2]) as string, port };
}
