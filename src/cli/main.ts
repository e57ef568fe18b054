/**
 * The `inferscale` binary: one program, one subcommand per job. Each subcommand lives in
 * src/cli/commands/<name>.ts and exports `command` (a commander Command); add it to the list below.
 */
import { Command } from 'commander';
import { command as decide } from './commands/decide.js';
import { command as optimize } from './commands/optimize.js';
import { command as profile } from './commands/profile.js';
import { command as scrape } from './commands/scrape.js';
import { command as emulate } from './commands/emulate.js';
import { command as simulate } from './commands/simulate.js';
import { command as controller } from './commands/controller.js';
import { command as daemon } from './commands/daemon.js';

const subcommands: Command[] = [decide, optimize, profile, scrape, emulate, simulate, controller, daemon];

export function buildProgram(): Command {
  const program = new Command('inferscale')
    .description('Metrics-driven autoscaler for LLM inference (vLLM, SGLang) on Kubernetes')
    .showHelpAfterError()
    .version('0.1.0');
  for (const sub of subcommands) program.addCommand(sub);
  return program;
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`inferscale: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
