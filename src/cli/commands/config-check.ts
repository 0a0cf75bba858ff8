import { stringify } from "yaml";
import { redactConfig } from "../../config/redact.js";
import { type GlobalOptions, type Io, loadContext } from "../context.js";
import { EXIT } from "../exit.js";

export async function configCheckCommand(global: GlobalOptions, io: Io): Promise<number> {
  const { file, configPath } = await loadContext(global, io);
  const effective = redactConfig(file);
  if (global.output === "json") {
    await io.stdout(`${JSON.stringify({ valid: true, path: configPath, config: effective }, null, 2)}\n`);
  } else {
    await io.stdout(`# ${configPath}: valid\n${stringify(effective)}`);
  }
  return EXIT.ok;
}
