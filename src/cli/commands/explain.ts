import { UsageError } from "../../errors.js";
import type { Cidr } from "../../model/cidr.js";
import { renderExplainText, shownExplain } from "../render/explain.js";
import { explainAddresses, parseClientAddress } from "../../reconcile/explain.js";
import { type GlobalOptions, type Io, loadContext } from "../context.js";
import { explainDeps } from "../wiring.js";

export async function explainCommand(
  global: GlobalOptions,
  addresses: string[],
  options: { detailedExitcode: boolean; instance?: string[] },
  io: Io,
): Promise<number> {
  const parsed: Cidr[] = [];
  for (const text of addresses) {
    const address = parseClientAddress(text);
    if (!address) throw new UsageError(`explain: ${JSON.stringify(text)} is not a client address (expected e.g. 34.66.25.221 or 2600:1900::1)`);
    parsed.push(address);
  }
  const { config, logger, scrubber } = await loadContext(global, io);
  const report = shownExplain(await explainAddresses(config, { ...explainDeps(config, logger, scrubber, options.instance), now: io.now }, parsed), options);
  await io.stdout(global.output === "json" ? `${JSON.stringify(report, null, 2)}\n` : renderExplainText(report));
  return report.exitCode;
}
