import type { Dispatcher } from "undici";
import { type DnsQueryOptions, resolveRecords, resolveSrv } from "../dns/client.js";
import type { ResolverAddress, UdpResolver } from "../util/resolver.js";
import { systemResolvers } from "../dns/system.js";
import { AllowlistError } from "../errors.js";

/** Where instances are: listed sockets, and optionally DNS names to discover more (the `haproxy` config keys). */
export interface InstanceSources {
  sockets: string[];
  discover?: { dns: string; port?: number | undefined; resolvers?: ResolverAddress[] | undefined } | undefined;
  /** With runtime TLS configured, discovered instances are reached over it too. */
  tls?: object | undefined;
}

export interface DiscoveryOptions {
  dispatcher?: Dispatcher;
  defaultResolvers?: () => UdpResolver[];
  timeoutMs?: number;
}

type Scheme = "tcp" | "tls";

function networkTarget(scheme: Scheme, address: string, port: number): string {
  return address.includes(":") ? `${scheme}://[${address}]:${port}` : `${scheme}://${address}:${port}`;
}

async function addressesOf(resolver: ResolverAddress, name: string, options: DnsQueryOptions): Promise<string[]> {
  const [v4, v6] = await Promise.all([resolveRecords(resolver, name, "A", options), resolveRecords(resolver, name, "AAAA", options)]);
  return [...v4.records, ...v6.records].map((r) => r.address);
}

async function discoverWith(
  resolver: ResolverAddress,
  discover: NonNullable<InstanceSources["discover"]>,
  scheme: Scheme,
  options: DnsQueryOptions,
): Promise<string[]> {
  if (discover.port !== undefined) {
    const port = discover.port;
    return (await addressesOf(resolver, discover.dns, options)).map((a) => networkTarget(scheme, a, port));
  }
  const services = await resolveSrv(resolver, discover.dns, options);
  const targets = await Promise.all(
    services.map(async (srv) => (await addressesOf(resolver, srv.target, options)).map((a) => networkTarget(scheme, a, srv.port))),
  );
  return targets.flat();
}

/**
 * The runtime API targets: `haproxy.sockets`, plus every instance behind
 * `haproxy.discover` (A/AAAA on the given port, or SRV records without one),
 * looked up with the project's DNS client. Resolvers are tried in order.
 */
export async function resolveTargets(haproxy: InstanceSources, options: DiscoveryOptions = {}): Promise<string[]> {
  const discover = haproxy.discover;
  if (!discover) return haproxy.sockets;
  const resolvers = discover.resolvers ?? (options.defaultResolvers ?? systemResolvers)();
  const queryOptions: DnsQueryOptions = {
    timeoutMs: options.timeoutMs ?? 2000,
    retries: 1,
    requireDnssec: false,
    ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
  };
  const errors: string[] = [];
  let found: string[] | undefined;
  for (const resolver of resolvers) {
    try {
      found = await discoverWith(resolver, discover, haproxy.tls ? "tls" : "tcp", queryOptions);
      break;
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  if (found === undefined) {
    throw new AllowlistError("E_DISCOVERY", `haproxy.discover ${discover.dns}: no resolver answered: ${errors.join("; ") || "no resolvers"}`);
  }
  if (found.length === 0) throw new AllowlistError("E_DISCOVERY", `haproxy.discover ${discover.dns}: no instances found`);
  return [...new Set([...haproxy.sockets, ...found.sort()])];
}
