/**
 * One problem (or warning) found in a PodAutoscaler, with where it is, what is wrong and how to fix
 * it. `reason` doubles as the `ValidSpec` condition reason, so AIBrix's reasons are reused where
 * AIBrix has one.
 */
import { z } from 'zod';

export const IssueSchema = z.object({
  /** Field path, e.g. `spec.metricsSources[1].targetValue` or `metadata.annotations["…"]`. */
  path: z.string(),
  /** What is wrong and how to fix it. */
  message: z.string(),
  /** CamelCase condition reason. */
  reason: z.string(),
});
export type Issue = z.infer<typeof IssueSchema>;

/** `path.to.field: message` lines of a zod error (the first `max` of them), for errors that name what to fix. */
export function describeZodError(error: z.ZodError, max = Infinity): string {
  return error.issues
    .slice(0, max)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}

/** Condition reasons. The first five are AIBrix's (`podautoscaler_controller.go:79-98`). */
export const Reason = {
  MissingScaleTargetRef: 'MissingScaleTargetRef',
  InvalidBounds: 'InvalidBounds',
  InvalidScalingStrategy: 'InvalidScalingStrategy',
  InvalidSpec: 'InvalidSpec',
  MetricsConfigError: 'MetricsConfigError',
  /** Not a PodAutoscaler of a group we serve, or not an object at all. */
  InvalidObject: 'InvalidObject',
  InvalidMetadata: 'InvalidMetadata',
  /** AIBrix only logs annotation errors; we refuse the object instead (§6 W-10). */
  InvalidAnnotation: 'InvalidAnnotation',
  // Warning reasons.
  /** A field the apiserver prunes because the group's schema does not have it. */
  UnknownField: 'UnknownField',
  /** An annotation AIBrix ignores that we map onto a field; the message says which. */
  MappedAnnotation: 'MappedAnnotation',
  IgnoredAnnotation: 'IgnoredAnnotation',
  /** Two settings for the same thing; the message says which one wins. */
  Overridden: 'Overridden',
  Deprecated: 'Deprecated',
  /** We behave differently from AIBrix here on purpose; the message says how. */
  AIBrixDifference: 'AIBrixDifference',
  /** Accepted, but probably not what was meant. */
  Suspicious: 'Suspicious',
} as const;
export type ReasonName = (typeof Reason)[keyof typeof Reason];

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `['spec', 'metricsSources', 1, 'port']` → `spec.metricsSources[1].port`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && IDENTIFIER.test(segment))
      out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

export function annotationPath(key: string): string {
  return formatPath(['metadata', 'annotations', key]);
}

/**
 * Human-readable lines for the CLI: one issue per line, `severity: path: message [Reason]`.
 * An empty list gives an empty string.
 */
export function formatIssues(issues: readonly Issue[], severity: 'error' | 'warning' = 'error'): string {
  return issues
    .map(
      (issue) =>
        `${severity}: ${issue.path === '' ? '(object)' : issue.path}: ${issue.message} [${issue.reason}]`,
    )
    .join('\n');
}
