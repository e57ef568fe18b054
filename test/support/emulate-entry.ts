/**
 * A slim `inferscale emulate` for the kubelet stand-in: the very same commander command as
 * `src/cli/main.ts emulate`, without loading every other subcommand. That halves the memory of each
 * emulated pod (~105 MB instead of ~260 MB RSS) and starts in a fraction of the time.
 *
 * With INFERSCALE_EXIT_WITH_STDIN=1 the process exits when its stdin closes, i.e. when the parent
 * that spawned it with a stdin pipe is gone, even if that parent was SIGKILLed and could not clean up.
 */
import { Command } from 'commander';
import { command } from '../../src/cli/commands/emulate.js';

if (process.env.INFERSCALE_EXIT_WITH_STDIN === '1') {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}

try {
  await new Command('inferscale').addCommand(command).parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`inferscale: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
