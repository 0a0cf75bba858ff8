import { stringify } from "yaml";
import { redactConfig } from "../../config/redact.js";
import { EXIT } from "../../model/result.js";
import { type GlobalOptions, type Io, loadContext } from "../context.js";

export async function configCheckCommand(global: GlobalOptions, io: Io): Promise<number> {
  const { config, configPath, warnings } = await loadContext(global, io);
  const effective = redactConfig(config);
  if (global.output === "json") {
    await io.stdout(`${JSON.stringify({ valid: true, path: configPath, warnings, config: effective }, null, 2)}\n`);
  } else {
    const notes = warnings.map((w) => `# warning: ${w.path}: ${w.message}\n`).join("");
    await io.stdout(`# ${configPath}: valid\n${notes}${stringify(effective)}`);
  }
  return EXIT.ok;
}
