/**
 * `inferscale controller`: the PodAutoscaler controller (see docs/controller.md).
 */
import { Command, Option } from 'commander';
import { startController } from '../../controller/controller.js';
import { parseNonNegativeNumber } from '../../controller/runtime.js';
import { addRuntimeOptions, runUntilSignal, type RuntimeFlags } from '../runtime-options.js';

interface Flags extends RuntimeFlags {
  namespace?: string;
  aibrixCompat?: boolean;
  hpaMode: 'in-process' | 'native';
  stateCheckpointInterval: number;
}

export const command = addRuntimeOptions(
  new Command('controller').description(
    'Run the PodAutoscaler controller (watches PodAutoscalers, scales their targets)',
  ),
  {
    scope: [
      new Option('--namespace <ns>', 'watch PodAutoscalers and pods in this namespace only (default: all)'),
      new Option('--aibrix-compat', 'also serve autoscaling.aibrix.ai/v1alpha1 PodAutoscalers'),
    ],
    dryRun: 'shadow mode for every PodAutoscaler: decide and report, never write replicas',
    leaderElect: new Option('--no-leader-elect', 'run without leader election (only one replica may run)'),
    leaseName: 'inferscale-controller',
    modes: [
      new Option(
        '--hpa-mode <mode>',
        'HPA strategy: in-process (the engine runs it) or native (a generated autoscaling/v2 HPA owned by the PodAutoscaler)',
      )
        .choices(['in-process', 'native'])
        .default('in-process'),
      new Option(
        '--state-checkpoint-interval <seconds>',
        'checkpoint the decision state (metric windows, panic state, stabilisation) into status.decisionState when it changed and this long passed since the last status write, so a new leader resumes from it; 0 disables',
      )
        .argParser(parseNonNegativeNumber('--state-checkpoint-interval'))
        .default(15),
    ],
    events: 'do not record Kubernetes Events',
  },
).action((flags: Flags) =>
  runUntilSignal(flags, 'inferscale-controller', (shared, lease) =>
    startController({
      ...shared,
      namespace: flags.namespace,
      aibrixCompat: flags.aibrixCompat,
      leaderElection: lease ?? false,
      hpaMode: flags.hpaMode,
      stateCheckpointMs: flags.stateCheckpointInterval * 1000,
    }),
  ),
);
