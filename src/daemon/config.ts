/**
 * The daemon's configuration file: PodAutoscaler objects, in the same shape as in the cluster, so a
 * file works with `inferscale daemon` and `kubectl apply -f` alike. Accepted layouts:
 *
 *   - one PodAutoscaler per YAML (or JSON) document, documents separated by `---`;
 *   - a document with an `items:` list (`kind: List` or `PodAutoscalerList`), or a bare YAML list;
 *   - any mix of the two.
 *
 * Every object is validated and resolved with resolvePodAutoscaler; every problem of every object is
 * reported at once, each naming the file, the document (and item), the object and the field path.
 * Objects without `metadata.namespace` get the default namespace. Two objects with the same
 * namespace/name, or on the same scale target, are errors: in a file there is no "older one wins".
 * An OPTIMIZER PodAutoscaler claims every Deployment of its model group, not only
 * spec.scaleTargetRef.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { ResolvedPodAutoscaler } from '../api/resolved.js';
import { resolvePodAutoscaler } from '../api/resolve.js';
import type { Issue } from '../api/issues.js';
import { DEFAULTS } from '../api/defaults.js';
import { claimedTargets } from '../controller/conflicts.js';

export interface TargetsConfig {
  podAutoscalers: ResolvedPodAutoscaler[];
  /** Non-fatal notes, one line each (file, position, object, path). */
  warnings: string[];
}

export type TargetsParseResult =
  ({ ok: true } & TargetsConfig) | { ok: false; errors: string[]; warnings: string[] };

interface Located {
  where: string;
  raw: unknown;
}

export interface ParseOptions {
  /** Whether a profile path exists (OPTIMIZER); a missing one is a warning. Default: not checked. */
  pathExists?: (p: string) => boolean;
}

/** Parses and resolves a targets file's text. Never throws. */
export function parseTargets(
  text: string,
  file: string,
  defaultNamespace: string,
  opts: ParseOptions = {},
): TargetsParseResult {
  const errors: string[] = [];
  const warnings: string[] = [];
  const objects: Located[] = [];
  let docs;
  try {
    docs = parseAllDocuments(text, { prettyErrors: true });
  } catch (err) {
    return { ok: false, errors: [`${file}: ${(err as Error).message}`], warnings };
  }
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, d) => {
    const docWhere = `${file}: document ${d + 1}`;
    if (doc.errors.length > 0) {
      for (const e of doc.errors) errors.push(`${docWhere}: YAML error: ${e.message.split('\n')[0]}`);
      return;
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return; // empty document (e.g. a trailing ---)
    const items = Array.isArray(value)
      ? value
      : isRecord(value) && Array.isArray(value.items) && value.kind !== 'PodAutoscaler'
        ? (value.items as unknown[])
        : undefined;
    if (items) items.forEach((raw, i) => objects.push({ where: `${docWhere}, item ${i}`, raw }));
    else objects.push({ where: docWhere, raw: value });
  });

  const byName = new Map<string, string>();
  const byTarget = new Map<string, string>();
  const podAutoscalers: ResolvedPodAutoscaler[] = [];
  for (const { where, raw } of objects) {
    const withNs = defaultNamespaceOf(raw, defaultNamespace);
    const label = describe(withNs);
    const r = resolvePodAutoscaler(withNs);
    for (const w of r.warnings) warnings.push(line(where, label, w));
    if (!r.ok) {
      for (const issue of r.issues) errors.push(line(where, label, issue));
      continue;
    }
    const pa = r.value;
    const id = `${pa.namespace}/${pa.name}`;
    const prior = byName.get(id);
    if (prior) {
      errors.push(
        `${where} (${label}): metadata.name: ${id} is defined twice (also at ${prior}); names must be unique per namespace`,
      );
      continue;
    }
    byName.set(id, where);
    // A model group writes every Deployment it lists: each one is claimed, and each clash reported.
    const claims = claimedTargets(pa);
    const clashes = claims.filter((c) => byTarget.has(c.key));
    for (const c of clashes) {
      errors.push(
        `${where} (${label}): ${c.field}: ${c.key} is already scaled by ${byTarget.get(c.key)}; two autoscalers on one target would fight over its replicas`,
      );
    }
    if (clashes.length > 0) continue;
    for (const c of claims) {
      byTarget.set(c.key, `${where} (${label})${c.gpu !== undefined ? ` as its ${c.gpu} Deployment` : ''}`);
    }
    if (opts.pathExists)
      warnings.push(...missingProfiles(pa, opts.pathExists).map((m) => `${where} (${label}): ${m}`));
    podAutoscalers.push(pa);
  }
  if (errors.length > 0) return { ok: false, errors, warnings };
  if (podAutoscalers.length === 0) warnings.push(`${file}: no PodAutoscaler defined; nothing will be scaled`);
  return { ok: true, podAutoscalers, warnings };
}

export async function loadTargets(file: string, defaultNamespace: string): Promise<TargetsParseResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { ok: false, errors: [`${file}: cannot read: ${(err as Error).message}`], warnings: [] };
  }
  return parseTargets(text, file, defaultNamespace, { pathExists: existsSync });
}

/**
 * Profile paths of a model group that do not exist. Not an error: a mounted ConfigMap may appear
 * later, and profiles are re-read every minute; until then the group has no plan (NoProfile).
 */
function missingProfiles(pa: ResolvedPodAutoscaler, exists: (p: string) => boolean): string[] {
  const opt = pa.optimizer;
  if (opt === undefined) return [];
  const note = (field: string, p: string) =>
    `${field}: ${p} does not exist (${path.resolve(p)}; relative paths are read from the working directory); until it does, the GPU types it would cover have no profile (NoProfile)`;
  return [
    ...(opt.profiles ?? DEFAULTS.optimizer.profiles).flatMap((p, i) =>
      exists(p)
        ? []
        : [note(opt.profiles ? `spec.optimizer.profiles[${i}]` : 'spec.optimizer.profiles (default)', p)],
    ),
    ...opt.targets.flatMap((t, i) =>
      t.profile === undefined || exists(t.profile)
        ? []
        : [note(`spec.optimizer.targets[${i}].profile`, t.profile)],
    ),
  ];
}

function line(where: string, label: string, issue: Issue): string {
  return `${where} (${label}): ${issue.path || '(object)'}: ${issue.message} [${issue.reason}]`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function defaultNamespaceOf(raw: unknown, namespace: string): unknown {
  if (!isRecord(raw)) return raw;
  const meta = isRecord(raw.metadata) ? raw.metadata : undefined;
  if (meta && typeof meta.namespace === 'string' && meta.namespace !== '') return raw;
  return { ...raw, metadata: { ...(meta ?? {}), namespace } };
}

function describe(raw: unknown): string {
  if (!isRecord(raw) || !isRecord(raw.metadata)) return 'unnamed';
  const { namespace, name } = raw.metadata;
  return `${typeof namespace === 'string' ? namespace : '?'}/${typeof name === 'string' ? name : '?'}`;
}
