import { readFileSync } from "node:fs";
import { parseResolvConf, type UdpResolver } from "../util/resolver.js";

/** The host's nameservers, as the default when a source names none. */
export function systemResolvers(path = "/etc/resolv.conf"): UdpResolver[] {
  try {
    return parseResolvConf(readFileSync(path, "utf8"));
  } catch {
    return [];
  }
}
