import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { buildCrd, CRD_PATH, renderCrdYaml } from '../../../src/api/gen-crd.js';
import { structuralSchema } from '../../../src/api/crd.js';
import { AIBrixSpecSchema, AIBrixStatusSchema } from '../../../src/api/schema.js';

type Json = Record<string, unknown>;

function walk(node: unknown, visit: (n: Json, path: string) => void, path = ''): void {
  if (Array.isArray(node)) node.forEach((n, i) => walk(n, visit, `${path}[${i}]`));
  else if (typeof node === 'object' && node !== null) {
    visit(node as Json, path);
    for (const [k, v] of Object.entries(node)) walk(v, visit, `${path}.${k}`);
  }
}

/** Names, types, formats, enums and required lists: what decides whether an object is stored as written. */
function shape(node: unknown): unknown {
  const n = node as Json;
  const out: Json = {};
  for (const key of ['type', 'format', 'enum', 'x-kubernetes-map-type'])
    if (n[key] !== undefined) out[key] = n[key];
  if (Array.isArray(n.required)) out.required = [...(n.required as string[])].sort();
  if (n.properties) {
    out.properties = Object.fromEntries(
      Object.entries(n.properties as Json)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, shape(v)]),
    );
  }
  if (n.items) out.items = shape(n.items);
  return out;
}

describe('generated CRD', () => {
  it(`${CRD_PATH} is fresh (run npm run gen:crd after changing src/api/schema.ts)`, () => {
    expect(readFileSync(CRD_PATH, 'utf8')).toBe(renderCrdYaml());
  });

  it('round-trips through YAML', () => {
    expect(parse(renderCrdYaml())).toEqual(buildCrd());
  });

  it('is structural: a type everywhere outside int-or-string, no additionalProperties:false, no propertyNames', () => {
    const schema = (buildCrd() as any).spec.versions[0].schema.openAPIV3Schema; // eslint-disable-line @typescript-eslint/no-explicit-any
    const problems: string[] = [];
    walk(schema, (n, path) => {
      const isSchemaNode = 'type' in n || 'anyOf' in n || 'properties' in n;
      if (!isSchemaNode || path.includes('x-kubernetes-validations') || /\.anyOf\[\d\]$/.test(path)) return;
      if (n.additionalProperties === false) problems.push(`${path}: additionalProperties false`);
      if ('propertyNames' in n || '$schema' in n) problems.push(`${path}: propertyNames/$schema`);
      if (n.type === undefined && n['x-kubernetes-int-or-string'] !== true) problems.push(`${path}: no type`);
      if (n.type === 'integer' && n.format !== 'int32' && n.format !== 'int64')
        problems.push(`${path}: integer without format`);
      if (n.maximum === Number.MAX_SAFE_INTEGER || n.minimum === -Number.MAX_SAFE_INTEGER)
        problems.push(`${path}: zod bound`);
    });
    expect(problems).toEqual([]);
  });

  it('has the status subresource, HPA-like printer columns and CEL rules', () => {
    const version = (buildCrd() as any).spec.versions[0]; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(version.subresources).toEqual({ status: {} });
    expect(
      version.additionalPrinterColumns.filter((c: Json) => !c.priority).map((c: Json) => c.name),
    ).toEqual(['Reference', 'Targets', 'MinPods', 'MaxPods', 'Replicas', 'Strategy', 'Age']);
    const spec = version.schema.openAPIV3Schema.properties.spec;
    expect(spec.properties.scaleTargetRef['x-kubernetes-map-type']).toBe('atomic');
    expect(
      version.schema.openAPIV3Schema.properties.status.properties.conditions['x-kubernetes-list-map-keys'],
    ).toEqual(['type']);
    const rules: string[] = [];
    walk(spec, (n) => {
      for (const r of (n['x-kubernetes-validations'] as Json[] | undefined) ?? []) rules.push(String(r.rule));
    });
    expect(rules.length).toBeGreaterThanOrEqual(15);
    expect(rules).toContain('!has(self.minReplicas) || self.minReplicas <= self.maxReplicas');
  });

  it('our AIBrix schema stores exactly what AIBrix’s CRD stores (same fields, types, enums, required)', () => {
    const aibrix = parse(
      readFileSync('/work/shared/aibrix-data/crd/autoscaling.aibrix.ai_podautoscalers.yaml', 'utf8'),
    );
    const theirs = aibrix.spec.versions[0].schema.openAPIV3Schema.properties;
    expect(shape(structuralSchema(AIBrixSpecSchema))).toEqual(shape(theirs.spec));
    expect(shape(structuralSchema(AIBrixStatusSchema))).toEqual(shape(theirs.status));
  });
});
