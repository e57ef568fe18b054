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
 */
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import type { ResolvedPodAutoscaler } from '../api/resolved.js';
import { resolvePodAutoscaler } from '../api/resolve.js';
import type { Issue } from '../api/issues.js';
import { targetKey } from '../controller/conflicts.js';

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

/** Parses and resolves a targets file's text. Never throws. */
export function parseTargets(text: string, file: string, defaultNamespace: string): TargetsParseResult {
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
    const tk = targetKey(pa.namespace, pa.scaleTargetRef);
    const owner = byTarget.get(tk);
    if (owner) {
      errors.push(
        `${where} (${label}): spec.scaleTargetRef: ${tk} is already scaled by ${owner}; two autoscalers on one target would fight over its replicas`,
      );
      continue;
    }
    byTarget.set(tk, `${where} (${label})`);
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
  return parseTargets(text, file, defaultNamespace);
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
