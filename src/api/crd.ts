/**
 * The CustomResourceDefinition of `autoscaling.inferscale.dev/v1alpha1` PodAutoscaler, generated
 * from the zod schemas so the CRD and the validator cannot drift apart.
 *
 * zod's OpenAPI 3.0 output is close to a CRD schema; `toStructural` fixes what the apiserver wants
 * differently (dependencies.md §4.2), and CEL rules (`x-kubernetes-validations`) express the
 * cross-field rules the resolver checks, so `kubectl apply` rejects what `resolvePodAutoscaler`
 * would reject. AIBrix's group is not generated: its own CRD is installed unchanged.
 */
import { z } from 'zod';
import { stringify } from 'yaml';
import { InferscaleSpecSchema, InferscaleStatusSchema } from './schema.js';
import { DEFAULTS, INFERSCALE_GROUP, VERSION } from './defaults.js';

type Json = Record<string, unknown>;

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const SAFE = Number.MAX_SAFE_INTEGER;

const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * zod JSON Schema → structural CRD schema:
 * - drop `$schema`, `additionalProperties: false` and `propertyNames` (not allowed next to
 *   `properties`, or meaningless: unknown fields are pruned anyway);
 * - zod's integer bounds become `format: int32|int64`;
 * - number-or-string unions become `x-kubernetes-int-or-string`;
 * - records marked `x-kubernetes-preserve-unknown-fields` lose their value schema;
 * - enum strings get a `maxLength`, and date-times lose zod's regex (RE2 cannot run it and the
 *   `format` already checks), both so CEL cost estimates stay small.
 */
export function toStructural(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toStructural);
  if (!isRecord(node)) return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$schema' || key === 'propertyNames') continue;
    if (key === 'additionalProperties' && value === false) continue;
    out[key] = key === 'enum' || key === 'required' ? value : toStructural(value);
  }
  if (out.type === 'integer') {
    let format: string | undefined;
    if (out.minimum === INT32_MIN || out.maximum === INT32_MAX) format = 'int32';
    if (out.minimum === INT32_MIN || out.minimum === -SAFE) delete out.minimum;
    if (out.maximum === INT32_MAX || out.maximum === SAFE) delete out.maximum;
    out.format = format ?? 'int64';
  }
  if (out.type === 'string' && out.format === 'date-time') delete out.pattern;
  if (out.type === 'string' && Array.isArray(out.enum)) {
    out.maxLength = Math.max(...out.enum.map((v) => String(v).length));
  }
  const anyOf = out.anyOf;
  if (Array.isArray(anyOf) && anyOf.length === 2) {
    const types = anyOf.map((b) => (isRecord(b) ? b.type : undefined)).sort();
    if (types[0] === 'integer' && types[1] === 'string') {
      out.anyOf = [{ type: 'integer' }, { type: 'string' }];
      out['x-kubernetes-int-or-string'] = true;
    }
  }
  if (out['x-kubernetes-preserve-unknown-fields'] === true) {
    delete out.additionalProperties;
    out.type = 'object';
  }
  return out;
}

/** A zod schema as a structural CRD schema (no x-kubernetes extensions beyond what `toStructural` adds). */
export function structuralSchema(schema: z.ZodType): Json {
  return toStructural(
    z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' }),
  ) as Json;
}

/** `schema.properties[a].properties[b]…`, following `items` for lists. */
function at(schema: Json, ...path: string[]): Json {
  let node = schema;
  for (const key of path) {
    const next = key === '[]' ? node.items : (node.properties as Json | undefined)?.[key];
    if (!isRecord(next)) throw new Error(`CRD schema has no ${path.join('.')}`);
    node = next;
  }
  return node;
}

interface Rule {
  rule: string;
  message: string;
  fieldPath?: string;
}

function addRules(node: Json, rules: Rule[]): void {
  node['x-kubernetes-validations'] = rules;
}

/** A CEL expression for "field is set and not empty". */
const set = (field: string) => `has(self.${field}) && self.${field} != ''`;

function specSchema(): Json {
  const spec = structuralSchema(InferscaleSpecSchema);
  const { observeWindowSeconds: observe, panicWindowSeconds: panic } = DEFAULTS;
  addRules(spec, [
    {
      rule: '!has(self.minReplicas) || self.minReplicas <= self.maxReplicas',
      message: 'minReplicas cannot be greater than maxReplicas.',
      fieldPath: '.minReplicas',
    },
    {
      // "After defaults", as AIBrix: observe 30 with no panic window is invalid (60 > 30).
      rule: `(has(self.panicWindowSeconds) ? self.panicWindowSeconds : ${panic}) <= (has(self.observeWindowSeconds) ? self.observeWindowSeconds : ${observe})`,
      message: `panicWindowSeconds must be less than or equal to observeWindowSeconds (defaults: panic ${panic}, observe ${observe}).`,
    },
    {
      rule: `self.scalingStrategy != 'HPA' || !has(self.subTargetSelector) || !has(self.subTargetSelector.roleName) || self.subTargetSelector.roleName == ''`,
      message:
        'subTargetSelector.roleName is not supported with scalingStrategy=HPA; use APA or KPA for StormService role-level autoscaling.',
      fieldPath: '.subTargetSelector.roleName',
    },
    {
      rule: `!has(self.subTargetSelector) || !has(self.subTargetSelector.roleName) || self.subTargetSelector.roleName == '' || (has(self.scaleTargetRef.kind) && self.scaleTargetRef.kind == 'StormService')`,
      message: 'subTargetSelector.roleName is only supported for StormService.',
      fieldPath: '.subTargetSelector.roleName',
    },
    {
      rule: "self.scalingStrategy == 'OPTIMIZER' || has(self.metricsSources)",
      message: 'at least one metricsSource is required.',
    },
    {
      rule: "self.scalingStrategy != 'OPTIMIZER' || (has(self.optimizer) && has(self.optimizer.targets))",
      message:
        'scalingStrategy OPTIMIZER needs optimizer.targets: one entry per Deployment (GPU type) of the model.',
      fieldPath: '.optimizer',
    },
  ]);

  addRules(at(spec, 'scaleTargetRef'), [
    {
      rule: `${set('kind')} && ${set('name')}`,
      message: 'scaleTargetRef.kind and scaleTargetRef.name must be set.',
    },
  ]);

  const sources = at(spec, 'metricsSources');
  sources['x-kubernetes-list-type'] = 'atomic';
  addRules(at(spec, 'metricsSources', '[]'), [
    {
      rule: `self.metricSourceType != 'pod' || has(self.port)`,
      message: 'port is required for metricSourceType=pod.',
    },
    {
      rule: `self.metricSourceType != 'resource' || self.targetMetric in ['cpu', 'memory']`,
      message: "for metricSourceType=resource, targetMetric must be 'cpu' or 'memory'.",
    },
    {
      rule: `self.metricSourceType != 'resource' || !(has(self.port) || has(self.endpoint) || has(self.path) || has(self.protocolType))`,
      message: 'port, endpoint, path, and protocolType are not allowed for metricSourceType=resource.',
    },
    {
      rule: `self.metricSourceType != 'prometheus' || (${set('query')})`,
      message: 'query is required for metricSourceType=prometheus.',
    },
    {
      rule: `!has(self.query) || self.metricSourceType == 'prometheus'`,
      message: 'query is only used by metricSourceType=prometheus.',
    },
    {
      rule: `self.metricSourceType != 'prometheus' || !(has(self.port) || has(self.path) || has(self.protocolType))`,
      message: 'port, path, and protocolType are not allowed for metricSourceType=prometheus.',
    },
    {
      rule: `!has(self.targetType) || self.targetType == 'AverageValue' || (self.targetType == 'Utilization' && self.metricSourceType == 'resource') || (self.targetType == 'Value' && self.metricSourceType in ['external', 'domain', 'prometheus'])`,
      message:
        'targetType Utilization is only for resource sources, and Value only for external or prometheus sources.',
    },
    {
      // Go ParseFloat's decimal syntax; NaN, Inf and hex floats are refused, as by the resolver.
      rule: `self.targetValue.matches('^[+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$') && double(self.targetValue) > 0.0`,
      message: 'targetValue must be a positive decimal number such as "0.5" or "100".',
    },
  ]);

  const targets = at(spec, 'optimizer', 'targets');
  targets['x-kubernetes-list-type'] = 'atomic';
  at(spec, 'optimizer', 'profiles')['x-kubernetes-list-type'] = 'atomic';
  addRules(at(spec, 'optimizer', 'targets', '[]'), [
    {
      rule: '!has(self.minReplicas) || !has(self.maxReplicas) || self.minReplicas <= self.maxReplicas',
      message: 'a target’s minReplicas cannot be greater than its maxReplicas.',
    },
  ]);

  const schedules = at(spec, 'schedules');
  schedules['x-kubernetes-list-type'] = 'map';
  schedules['x-kubernetes-list-map-keys'] = ['name'];
  addRules(schedules, [
    {
      rule: `self.all(s, (has(s.timezone) && s.timezone != '' ? s.timezone : 'UTC') == (has(self[0].timezone) && self[0].timezone != '' ? self[0].timezone : 'UTC'))`,
      message: 'mixed timezone values are not supported.',
    },
  ]);
  at(spec, 'schedules', '[]', 'daysOfWeek')['x-kubernetes-list-type'] = 'atomic';
  addRules(at(spec, 'schedules', '[]'), [
    { rule: 'self.startTime < self.endTime', message: 'startTime must be earlier than endTime.' },
    {
      rule: 'has(self.minReplicas) || has(self.maxReplicas)',
      message: 'at least one of minReplicas or maxReplicas must be set.',
    },
  ]);
  for (const dir of ['scaleUp', 'scaleDown']) {
    at(spec, 'behavior', dir, 'policies')['x-kubernetes-list-type'] = 'atomic';
  }
  return spec;
}

function statusSchema(): Json {
  const status = structuralSchema(InferscaleStatusSchema);
  const conditions = at(status, 'conditions');
  conditions['x-kubernetes-list-type'] = 'map';
  conditions['x-kubernetes-list-map-keys'] = ['type'];
  at(status, 'scalingHistory')['x-kubernetes-list-type'] = 'atomic';
  at(status, 'currentMetrics')['x-kubernetes-list-type'] = 'atomic';
  at(status, 'optimizer', 'targets')['x-kubernetes-list-type'] = 'atomic';
  return status;
}

export const CRD_NAME = `podautoscalers.${INFERSCALE_GROUP}`;
export const CRD_PATH = `config/crd/${INFERSCALE_GROUP}_podautoscalers.yaml`;

/** The CRD object (apiextensions.k8s.io/v1). */
export function buildCrd(): Json {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: CRD_NAME },
    spec: {
      group: INFERSCALE_GROUP,
      names: {
        kind: 'PodAutoscaler',
        listKind: 'PodAutoscalerList',
        plural: 'podautoscalers',
        singular: 'podautoscaler',
        shortNames: ['ispa'],
        categories: ['inferscale'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Reference', type: 'string', jsonPath: '.spec.scaleTargetRef.name' },
            { name: 'Targets', type: 'string', jsonPath: '.status.targetsSummary' },
            { name: 'MinPods', type: 'integer', jsonPath: '.spec.minReplicas' },
            { name: 'MaxPods', type: 'integer', jsonPath: '.spec.maxReplicas' },
            { name: 'Replicas', type: 'integer', jsonPath: '.status.actualScale' },
            { name: 'Strategy', type: 'string', jsonPath: '.spec.scalingStrategy' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
            { name: 'Kind', type: 'string', jsonPath: '.spec.scaleTargetRef.kind', priority: 1 },
            { name: 'Desired', type: 'integer', jsonPath: '.status.desiredScale', priority: 1 },
            { name: 'DryRun', type: 'boolean', jsonPath: '.spec.dryRun', priority: 1 },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description:
                'PodAutoscaler scales a workload serving an LLM from engine, resource, external or Prometheus metrics. A superset of autoscaling.aibrix.ai/v1alpha1 PodAutoscaler.',
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: specSchema(),
                status: statusSchema(),
              },
              required: ['spec'],
            },
          },
        },
      ],
    },
  };
}

const HEADER = '# Generated by src/api/gen-crd.ts from src/api/schema.ts (npm run gen:crd). Do not edit.\n';

/** The checked-in YAML, byte for byte. */
export function renderCrdYaml(): string {
  return HEADER + stringify(buildCrd(), { lineWidth: 0 });
}
