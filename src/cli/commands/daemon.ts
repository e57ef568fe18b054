/**
 * `inferscale daemon --config targets.yaml`: the scaling loop over PodAutoscalers listed in a file,
 * without the CRD (see docs/daemon.md).
 */
import { Command, Option } from 'commander';
import { startDaemon } from '../../daemon/daemon.js';
import { parseNonNegativeNumber } from '../../controller/runtime.js';
import { addRuntimeOptions, runUntilSignal, type RuntimeFlags } from '../runtime-options.js';

interface Flags extends RuntimeFlags {
  config: string;
  namespace?: string;
  podNamespace?: string;
  stateFile?: string;
  stateCheckpointInterval: number;
}

export const command = addRuntimeOptions(
  new Command('daemon')
    .description(
      'Scale the targets of PodAutoscalers listed in a file (no CRD needed); reloads the file on change',
    )
    .requiredOption('--config <file>', 'YAML/JSON file of PodAutoscaler objects (documents, or a List)'),
  {
    scope: [
      new Option('--namespace <ns>', 'namespace for objects that name none (default: the context namespace)'),
      new Option('--pod-namespace <ns>', 'watch pods in this namespace only (default: all namespaces)'),
    ],
    dryRun: 'decide and report, never write replicas',
    leaderElect: new Option('--leader-elect', 'take a Lease before acting (to run two daemons on one file)'),
    leaseName: 'inferscale-daemon',
    modes: [
      new Option(
        '--state-file <path>',
        'persist the decision state (metric windows, panic state, timers, stabilisation) of KPA/APA/HPA targets in this JSON file, replaced atomically, and resume from it after a restart; its directory must be writable (default: off, every start is cold)',
      ),
      new Option(
        '--state-checkpoint-interval <seconds>',
        'with --state-file: checkpoint the decision state into the file when it changed and this long passed since the last write, and on shutdown; 0: only on shutdown',
      )
        .argParser(parseNonNegativeNumber('--state-checkpoint-interval'))
        .default(15),
    ],
    events: 'do not record Kubernetes Events on the scale targets',
  },
).action((flags: Flags) =>
  runUntilSignal(flags, 'inferscale-daemon', (shared, lease) =>
    startDaemon({
      ...shared,
      configPath: flags.config,
      defaultNamespace: flags.namespace,
      podNamespace: flags.podNamespace,
      leaderElection: lease,
      stateFile: flags.stateFile,
      stateCheckpointMs: flags.stateCheckpointInterval * 1000,
    }),
  ),
);
