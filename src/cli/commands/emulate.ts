/**
 * `inferscale emulate`: a vLLM replica without a GPU, for trying inferscale and for end-to-end
 * tests. Serves the OpenAI API, `/metrics`, `/health` with the timing of the replica model.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { createLogger } from '../../observability/log.js';
import { startEmulator } from '../../emulator/server.js';
import { catalog } from '../../../simulator/model/hardware.js';
import { METRICS_FORMATS, type MetricsFormat } from '../../../simulator/model/metrics.js';

function positiveNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!(Number.isFinite(n) && n > 0))
      throw new InvalidArgumentError(`${name} must be a number > 0, got '${v}'`);
    return n;
  };
}

function nonNegativeNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!(Number.isFinite(n) && n >= 0))
      throw new InvalidArgumentError(`${name} must be a number >= 0, got '${v}'`);
    return n;
  };
}

function port(v: string): number {
  const n = Number(v);
  if (!(Number.isInteger(n) && n >= 0 && n <= 65535))
    throw new InvalidArgumentError(`port must be 0-65535, got '${v}'`);
  return n;
}

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!(Number.isInteger(n) && n >= 1))
      throw new InvalidArgumentError(`${name} must be an integer >= 1, got '${v}'`);
    return n;
  };
}

interface EmulateFlags {
  gpu: string;
  model: string;
  host: string;
  port: number;
  metricsFormat: MetricsFormat;
  servedModelName?: string;
  speedup: number;
  tp?: number;
  maxModelLen?: number;
  gpuMemoryUtilization?: number;
  startupDelay: number;
  shutdownTimeout: number;
  seed: number;
}

export const command = new Command('emulate')
  .description('Serve an emulated vLLM replica (OpenAI API, /metrics, /health) without a GPU')
  .option('--gpu <name>', 'GPU from config/gpus.yaml', 'A100-80GB')
  .option('--model <name>', 'model from config/models.yaml (name, alias or Hugging Face id)', 'Llama-3.1-8B')
  .option('--host <address>', 'address to listen on', '127.0.0.1')
  .option('--port <n>', 'port to listen on (0: any free port)', port, 8000)
  .addOption(
    new Option('--metrics-format <format>', 'metric names and labels of /metrics')
      .choices([...METRICS_FORMATS])
      .default('vllm-v1'),
  )
  .option('--served-model-name <name>', 'model name in the API and metric labels (default: Hugging Face id)')
  .option(
    '--speedup <x>',
    'run model time this many times faster than the wall clock',
    positiveNumber('speedup'),
    1,
  )
  .option('--tp <n>', 'tensor-parallel degree (default: smallest that fits)', positiveInt('tp'))
  .option('--max-model-len <n>', 'max model length in tokens', positiveInt('max-model-len'))
  .option(
    '--gpu-memory-utilization <f>',
    'fraction of GPU memory vLLM may use (default 0.9)',
    positiveNumber('gpu-memory-utilization'),
  )
  .option(
    '--startup-delay <s>',
    '/health answers 503 for this many seconds, like a loading engine',
    nonNegativeNumber('startup-delay'),
    0,
  )
  .option(
    '--shutdown-timeout <s>',
    'on SIGTERM, let in-flight requests finish for this long',
    nonNegativeNumber('shutdown-timeout'),
    30,
  )
  .option('--seed <n>', 'seed of the response lengths of requests without max_tokens', Number, 1)
  .addHelpText(
    'after',
    () => `
GPUs:   ${[...catalog().gpus.keys()].join(', ')}
Models: ${[...catalog().models.keys()].join(', ')}
Prompt length = token ids given, or ~4 characters per token of text; output length = max_tokens
(the completions default is 16), or a natural length (median 128) when a chat request sets none.
See docs/simulator-model.md for the timing model and the metrics.`,
  )
  .action(async (flags: EmulateFlags) => {
    const log = createLogger({ name: 'inferscale-emulate' });
    const replica = {
      ...(flags.tp !== undefined ? { tp: flags.tp } : {}),
      ...(flags.maxModelLen !== undefined ? { maxModelLen: flags.maxModelLen } : {}),
      ...(flags.gpuMemoryUtilization !== undefined
        ? { gpuMemoryUtilization: flags.gpuMemoryUtilization }
        : {}),
    };
    const handle = await startEmulator({
      gpu: flags.gpu,
      model: flags.model,
      host: flags.host,
      port: flags.port,
      metricsFormat: flags.metricsFormat,
      ...(flags.servedModelName !== undefined ? { servedModelName: flags.servedModelName } : {}),
      speedup: flags.speedup,
      startupDelayMs: flags.startupDelay * 1000,
      seed: flags.seed,
      replica,
      log,
    });
    process.stdout.write(`${handle.url}\n`);
    let stopping = false;
    const stop = (signal: string, drainMs: number): void => {
      if (stopping) {
        // A second signal: stop now.
        process.exit(0);
      }
      stopping = true;
      log.info({ signal, drainMs }, 'emulator shutting down');
      handle.close({ drainMs }).then(
        () => process.exit(0),
        (err: unknown) => {
          log.error({ err }, 'emulator shutdown failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM', flags.shutdownTimeout * 1000));
    process.on('SIGINT', () => stop('SIGINT', 0));
    // The listening server keeps the process alive until a signal ends it.
  });
