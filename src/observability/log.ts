/**
 * pino JSON logs. Every line about a PodAutoscaler carries its namespace and name, so one grep
 * follows one autoscaler through the controller, the daemon or the simulator.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(options: { level?: string; name?: string; destination?: number } = {}): Logger {
  return pino(
    {
      name: options.name ?? 'inferscale',
      level: options.level ?? process.env.INFERSCALE_LOG_LEVEL ?? 'info',
      timestamp: pino.stdTimeFunctions.isoTime,
      base: undefined,
    },
    // Synchronous writes: the CLI exits right after its work and must not lose the last lines.
    pino.destination({ dest: options.destination ?? 2, sync: true }),
  );
}

/** A child logger bound to one PodAutoscaler. */
export function forPodAutoscaler(log: Logger, namespace: string, name: string): Logger {
  return log.child({ namespace, name, podAutoscaler: `${namespace}/${name}` });
}

/** A logger that drops everything, for tests and the simulator's hot loop. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
