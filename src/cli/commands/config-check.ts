import { stringify } from "yaml";
import { peerTimeoutWarnings } from "../../config/peer-timeouts.js";
import { redactConfig } from "../../config/redact.js";
import { type GlobalOptions, type Io, loadContext } from "../context.js";
import { EXIT } from "../exit.js";

/** A valid config may still be unwise: its warnings are logged, and shown with it (as YAML comments in text). */
export async function configCheckCommand(global: GlobalOptions, io: Io): Promise<number> {
  const { file, config, configPath, logger } = await loadContext(global, io);
  const effective = redactConfig(file);
  const warnings = peerTimeoutWarnings(config);
  for (const warning of warnings) logger.warn(warning);
  if (global.output === "json") {
    await io.stdout(`${JSON.stringify({ valid: true, path: configPath, warnings, config: effective }, null, 2)}\n`);
  } else {
    const comments = warnings.map((w) => `# warning: ${w}\n`).join("");
    await io.stdout(`# ${configPath}: valid\n${comments}${stringify(effective)}`);
  }
  return EXIT.ok;
}
