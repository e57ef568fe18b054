/**
 * `inferscale scrape <url>`: the first thing to run when a target metric "is not found". Fetches one
 * pod's page and prints what inferscale derives from it, with the controller's own code.
 */
import { Command, InvalidArgumentError } from 'commander';
import { readFile } from 'node:fs/promises';
import { formatReport, scrapeReport } from '../../metrics/inspect.js';

function nonNegative(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number ≥ 0`);
    return n;
  };
}

export const command = new Command('scrape')
  .description("Fetch one pod's /metrics page and print the signals inferscale derives from it")
  .argument('<url>', 'the page, e.g. http://10.0.0.5:8000/metrics')
  .option('--metric <name>', 'a targetMetric: print the value a pod metric source would produce, or why none')
  .option('--model <name>', 'keep only series with this model_name label (multi-model pods)')
  .option(
    '--window <seconds>',
    'scrape twice this far apart so rates and latency quantiles have a window',
    nonNegative('--window'),
    5,
  )
  .option('--timeout <ms>', 'per-request time limit', nonNegative('--timeout'), 5000)
  .option(
    '--ttl <seconds>',
    'series with explicit timestamps older than this are stale',
    nonNegative('--ttl'),
    60,
  )
  .option('--json', 'print the report as JSON')
  .option('--insecure', 'https: do not verify the certificate')
  .option('--ca <file>', 'https: PEM bundle to verify the certificate with')
  .addHelpText(
    'after',
    `
Exit status: 0 when the page was read (and --metric produced a value), 3 when --metric produced
no value (the reason is printed: absent, ambiguous, stale, first-scrape, no-observations,
invalid), 1 when the page could not be fetched or parsed.
See docs/metrics.md for the signal catalogue and the names accepted by --metric.`,
  )
  .action(
    async (
      url: string,
      opts: {
        metric?: string;
        model?: string;
        window: number;
        timeout: number;
        ttl: number;
        json?: boolean;
        insecure?: boolean;
        ca?: string;
      },
    ) => {
      const report = await scrapeReport({
        url,
        windowSeconds: opts.window,
        timeoutMs: opts.timeout,
        ttlSeconds: opts.ttl,
        ...(opts.metric !== undefined ? { metric: opts.metric } : {}),
        ...(opts.model !== undefined ? { model: opts.model } : {}),
        ...(opts.insecure ? { rejectUnauthorized: false } : {}),
        ...(opts.ca !== undefined ? { ca: await readFile(opts.ca, 'utf8') } : {}),
      });
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
      if (report.metric !== undefined && report.metric.value === undefined) process.exitCode = 3;
    },
  );
