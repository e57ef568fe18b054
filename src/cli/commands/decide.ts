/**
 * `inferscale decide`: replays a document of metric ticks through the real engine and prints one
 * JSON line per tick — "what would the autoscaler do with these metrics?".
 */
import { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { runDecide, parseDecideDocument } from '../../engine/decide-run.js';

export const command = new Command('decide')
  .description('Replay metric ticks through the autoscaler and print one JSON decision per tick')
  .argument('[file]', 'JSON or YAML document with podAutoscaler and ticks ("-" or absent: stdin)')
  .option('--pretty', 'indent each JSON line for reading')
  .addHelpText(
    'after',
    `
Input: { "podAutoscaler": {apiVersion, kind, metadata, spec},
         "ticks": [ { "time": <s>, "currentReplicas": 3,
                      "pods": [ { "name": "p0", "ready": true, "metrics": { "<targetMetric>": 0.7 } } ],
                      "external": { "<targetMetric>": 12.5 } } ] }
Output per tick: {"time","currentReplicas","desiredReplicas","reason","algorithm", ...internals}
See docs/decide.md for examples.`,
  )
  .action(async (file: string | undefined, opts: { pretty?: boolean }) => {
    const text = !file || file === '-' ? await readStdin() : await readFile(file, 'utf8');
    const doc = parseDecideDocument(text, file ?? '<stdin>');
    for await (const line of runDecide(doc)) {
      process.stdout.write(`${JSON.stringify(line, null, opts.pretty ? 2 : undefined)}\n`);
    }
  });

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
