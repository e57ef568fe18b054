/**
 * ScaleTarget over the `/scale` subresource of any scalable kind: Deployment, StatefulSet and
 * ReplicaSet through AppsV1Api, ReplicationController through CoreV1Api, and any custom resource
 * that declares a scale subresource through CustomObjectsApi (its plural is found by discovery of
 * `/apis/<group>/<version>` once and cached). Going through `/scale` means one RBAC rule per kind
 * (`<resource>/scale`) and no knowledge of where a kind keeps its replicas or selector.
 *
 * Writes. Two modes, chosen explicitly:
 *   - `update` (default): PUT the Scale object that `get()` returned, carrying its resourceVersion.
 *     The apiserver rejects it with 409 if the target changed in between. On 409 we re-read: if
 *     `spec.replicas` is still the value the decision was based on (only status or metadata moved,
 *     e.g. the Deployment controller updating status), we re-apply on the fresh object, with
 *     bounded, jittered backoff; if someone else changed `spec.replicas`, we do NOT overwrite their
 *     change and fail with ScaleConflictError, so the next tick decides from the new value. This
 *     is the Kubernetes HPA's contract, plus retries for the harmless conflicts.
 *   - `patch`: one JSON merge-patch of `spec.replicas`, last writer wins, never a 409. Simpler,
 *     and what to use when nothing else writes the target's replicas.
 */
import type * as k8s from '@kubernetes/client-node';
import type { ScaleState, ScaleTarget } from '../engine/seams.js';
import type { ScaleTargetRef } from '../api/resolved.js';
import type { Logger } from '../observability/log.js';
import { silentLogger } from '../observability/log.js';
import {
  KubeApiError,
  apiErrorCode,
  errorMessage,
  mergePatch,
  rawRequest,
  splitApiVersion,
  wrapApiError,
  type KubeClients,
} from './client.js';

/** The autoscaling/v1 Scale object as JSON (typed V1Scale instances fit this shape too). */
export interface ScaleObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: { replicas?: number };
  status?: { replicas?: number; selector?: string };
}

/** Someone else changed `spec.replicas` between our read and our write. */
export class ScaleConflictError extends KubeApiError {
  constructor(
    target: string,
    readonly basedOn: number,
    readonly found: number,
    readonly wanted: number,
  ) {
    super(
      'update scale',
      target,
      409,
      `spec.replicas changed from ${basedOn} to ${found} since it was read (not by us); not overwriting it with ${wanted}, the next tick decides from ${found}`,
    );
    this.name = 'ScaleConflictError';
  }
}

const APPS_SCALE_KINDS = ['Deployment', 'StatefulSet', 'ReplicaSet'] as const;

function isAppsScaleKind(kind: string): kind is (typeof APPS_SCALE_KINDS)[number] {
  return (APPS_SCALE_KINDS as readonly string[]).includes(kind);
}

interface ScaleApi {
  read(): Promise<ScaleObject>;
  replace(body: ScaleObject): Promise<ScaleObject>;
  patch(replicas: number): Promise<ScaleObject>;
}

export interface KubeScaleTargetOptions {
  clients: Pick<KubeClients, 'kc' | 'apps' | 'core' | 'custom'>;
  log?: Logger;
  /** See the module comment. Default `update`. */
  writeMode?: 'update' | 'patch';
  /** Attempts per write (conflicts and transient errors). Default 5. */
  maxAttempts?: number;
  /** Backoff between attempts: base doubling up to max, with full jitter. Default 20 ms → 500 ms. */
  backoff?: { baseMs?: number; maxMs?: number };
  /** A read older than this is not trusted as the base of a write; set() re-reads. Default 60 s. */
  readFreshForMs?: number;
  random?: () => number;
  /** For tests: how the backoff waits. */
  sleep?: (ms: number) => Promise<void>;
}

interface CachedRead {
  scale: ScaleObject;
  atMs: number;
}

interface ResolvedResource {
  group: string;
  version: string;
  plural: string;
}

/** Status codes worth retrying as-is (besides 409, which re-reads first). */
const TRANSIENT = new Set([429, 500, 502, 503, 504]);

export function describeTarget(namespace: string, ref: ScaleTargetRef): string {
  return `${ref.apiVersion} ${ref.kind} ${namespace}/${ref.name}`;
}

export class KubeScaleTarget implements ScaleTarget {
  private readonly log: Logger;
  private readonly reads = new Map<string, CachedRead>();
  private readonly resources = new Map<string, { value?: ResolvedResource; error?: string; atMs: number }>();
  private readonly mode: 'update' | 'patch';
  private readonly maxAttempts: number;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly freshMs: number;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** Write attempts that hit a 409 (for metrics and tests). */
  conflicts = 0;

  constructor(private readonly o: KubeScaleTargetOptions) {
    this.log = o.log ?? silentLogger();
    this.mode = o.writeMode ?? 'update';
    this.maxAttempts = Math.max(1, o.maxAttempts ?? 5);
    this.baseMs = o.backoff?.baseMs ?? 20;
    this.maxMs = o.backoff?.maxMs ?? 500;
    this.freshMs = o.readFreshForMs ?? 60_000;
    this.random = o.random ?? Math.random;
    this.sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  async get(namespace: string, ref: ScaleTargetRef): Promise<ScaleState> {
    const target = describeTarget(namespace, ref);
    const api = await this.api(namespace, ref);
    let scale: ScaleObject;
    try {
      scale = await api.read();
    } catch (err) {
      throw wrapApiError('get scale', target, err);
    }
    this.reads.set(cacheKey(namespace, ref), { scale, atMs: Date.now() });
    return toScaleState(scale, target);
  }

  async set(namespace: string, ref: ScaleTargetRef, replicas: number): Promise<void> {
    if (!Number.isInteger(replicas) || replicas < 0) {
      throw new Error(
        `refusing to write replicas=${replicas} to ${describeTarget(namespace, ref)}: not a non-negative integer`,
      );
    }
    const api = await this.api(namespace, ref);
    if (this.mode === 'patch') await this.setByPatch(api, namespace, ref, replicas);
    else await this.setByUpdate(api, namespace, ref, replicas);
  }

  private async setByPatch(
    api: ScaleApi,
    namespace: string,
    ref: ScaleTargetRef,
    replicas: number,
  ): Promise<void> {
    const target = describeTarget(namespace, ref);
    for (let attempt = 1; ; attempt++) {
      try {
        const out = await api.patch(replicas);
        this.reads.set(cacheKey(namespace, ref), { scale: out, atMs: Date.now() });
        return;
      } catch (err) {
        if (!isTransient(err) || attempt >= this.maxAttempts) throw wrapApiError('patch scale', target, err);
        await this.sleep(this.backoffMs(attempt));
      }
    }
  }

  private async setByUpdate(
    api: ScaleApi,
    namespace: string,
    ref: ScaleTargetRef,
    replicas: number,
  ): Promise<void> {
    const target = describeTarget(namespace, ref);
    const key = cacheKey(namespace, ref);
    const cached = this.reads.get(key);
    let base: ScaleObject | undefined =
      cached && Date.now() - cached.atMs <= this.freshMs ? cached.scale : undefined;
    // The replicas the caller's decision started from: the read it made through get().
    const basedOn = base ? replicasOf(base) : undefined;
    let lastErr: unknown;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      if (!base) {
        try {
          base = await api.read();
        } catch (err) {
          lastErr = err;
          if (!isTransient(err)) throw wrapApiError('get scale', target, err);
          await this.sleep(this.backoffMs(attempt));
          continue;
        }
        const found = replicasOf(base);
        if (found === replicas) {
          this.reads.set(key, { scale: base, atMs: Date.now() });
          return; // already there (someone else, or an earlier attempt that did land)
        }
        if (basedOn !== undefined && found !== basedOn) {
          this.reads.set(key, { scale: base, atMs: Date.now() });
          throw new ScaleConflictError(target, basedOn, found, replicas);
        }
      }
      if (replicasOf(base) === replicas) return;
      const body: ScaleObject = { ...base, spec: { ...base.spec, replicas } };
      try {
        const out = await api.replace(body);
        this.reads.set(key, { scale: out, atMs: Date.now() });
        if (attempt > 1) this.log.debug({ target, attempt }, 'scale written after retries');
        return;
      } catch (err) {
        lastErr = err;
        const code = apiErrorCode(err);
        if (code === 409) {
          this.conflicts++;
          this.log.debug({ target, attempt, err: errorMessage(err) }, 'scale write conflict; re-reading');
          base = undefined; // re-read, then decide whether re-applying is safe
        } else if (!isTransient(err)) {
          throw wrapApiError('update scale', target, err);
        }
        if (attempt < this.maxAttempts) await this.sleep(this.backoffMs(attempt));
      }
    }
    const e = wrapApiError('update scale', target, lastErr);
    throw new KubeApiError(
      'update scale',
      target,
      e.code,
      `gave up after ${this.maxAttempts} attempts: ${errorMessage(lastErr)}`,
      {
        cause: lastErr,
      },
    );
  }

  private backoffMs(attempt: number): number {
    const cap = Math.min(this.maxMs, this.baseMs * 2 ** (attempt - 1));
    return cap * (0.5 + 0.5 * this.random());
  }

  /** The /scale API for a target kind; custom kinds are resolved by discovery (cached). */
  private async api(namespace: string, ref: ScaleTargetRef): Promise<ScaleApi> {
    const { apps, core, custom } = this.o.clients;
    const { group, version } = splitApiVersion(ref.apiVersion);
    const name = ref.name;
    const body = (b: ScaleObject) => b as k8s.V1Scale;
    const patch = (replicas: number) => ({ spec: { replicas } });
    if (group === 'apps' && isAppsScaleKind(ref.kind)) {
      // apps/v1 names its /scale calls after the kind: readNamespacedDeploymentScale and so on.
      const kind = ref.kind;
      return {
        read: () => apps[`readNamespaced${kind}Scale` as const]({ name, namespace }),
        replace: (b) => apps[`replaceNamespaced${kind}Scale` as const]({ name, namespace, body: body(b) }),
        patch: (r) =>
          apps[`patchNamespaced${kind}Scale` as const]({ name, namespace, body: patch(r) }, mergePatch),
      };
    }
    if (group === '' && ref.kind === 'ReplicationController') {
      return {
        read: () => core.readNamespacedReplicationControllerScale({ name, namespace }),
        replace: (b) => core.replaceNamespacedReplicationControllerScale({ name, namespace, body: body(b) }),
        patch: (r) =>
          core.patchNamespacedReplicationControllerScale({ name, namespace, body: patch(r) }, mergePatch),
      };
    }
    const res = await this.resolve(group, version, ref.kind, describeTarget(namespace, ref));
    const args = { group: res.group, version: res.version, namespace, plural: res.plural, name };
    return {
      read: () => custom.getNamespacedCustomObjectScale(args) as Promise<ScaleObject>,
      replace: (b) => custom.replaceNamespacedCustomObjectScale({ ...args, body: b }) as Promise<ScaleObject>,
      patch: (r) =>
        custom.patchNamespacedCustomObjectScale(
          { ...args, body: patch(r) },
          mergePatch,
        ) as Promise<ScaleObject>,
    };
  }

  /**
   * apiVersion + kind → plural, via discovery. Successes are cached for the process; failures for
   * 30 s, so a CRD installed after the PodAutoscaler is picked up without a restart.
   */
  private async resolve(
    group: string,
    version: string,
    kind: string,
    target: string,
  ): Promise<ResolvedResource> {
    const key = `${group}/${version}/${kind}`;
    const hit = this.resources.get(key);
    if (hit?.value) return hit.value;
    if (hit?.error && Date.now() - hit.atMs < 30_000)
      throw new KubeApiError('discover', target, undefined, hit.error);
    const fail = (msg: string, code?: number): never => {
      this.resources.set(key, { error: msg, atMs: Date.now() });
      throw new KubeApiError('discover', target, code, msg);
    };
    if (!group)
      fail(
        `kind ${kind} of the core group has no scale subresource inferscale knows (only ReplicationController)`,
      );
    const path = `/apis/${group}/${version}`;
    let res;
    try {
      res = await rawRequest(this.o.clients.kc, 'GET', path);
    } catch (err) {
      // Transport errors are not cached: the next tick simply tries again.
      throw new KubeApiError('discover', target, undefined, `GET ${path}: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    if (res.status === 404)
      fail(
        `the apiserver does not serve ${group}/${version} (GET ${path} → 404); is the CRD installed?`,
        404,
      );
    if (res.status !== 200) {
      throw new KubeApiError(
        'discover',
        target,
        res.status,
        `GET ${path} → HTTP ${res.status}: ${res.text.slice(0, 200)}`,
      );
    }
    const list = res.json as
      { resources?: { name: string; kind: string; namespaced?: boolean }[] } | undefined;
    const resources = list?.resources ?? [];
    const main = resources.find((r) => r.kind === kind && !r.name.includes('/'));
    if (!main) {
      const kinds = [...new Set(resources.filter((r) => !r.name.includes('/')).map((r) => r.kind))].join(
        ', ',
      );
      fail(`${group}/${version} has no kind ${kind} (it serves: ${kinds || 'nothing'})`);
    }
    if (!main!.namespaced)
      fail(`${kind} in ${group}/${version} is cluster-scoped; only namespaced targets can be scaled`);
    if (!resources.some((r) => r.name === `${main!.name}/scale`)) {
      fail(
        `${kind} (${main!.name}.${group}) has no scale subresource; add \`subresources: {scale: {specReplicasPath, statusReplicasPath, labelSelectorPath}}\` to its CRD`,
      );
    }
    const value = { group, version, plural: main!.name };
    this.resources.set(key, { value, atMs: Date.now() });
    return value;
  }
}

function cacheKey(namespace: string, ref: ScaleTargetRef): string {
  return `${namespace}/${ref.apiVersion}/${ref.kind}/${ref.name}`;
}

/** A Scale omits `spec.replicas` when it is 0 (omitempty). */
function replicasOf(s: ScaleObject): number {
  return s.spec?.replicas ?? 0;
}

function isTransient(err: unknown): boolean {
  const code = apiErrorCode(err);
  return code === undefined ? !(err instanceof KubeApiError) : TRANSIENT.has(code);
}

export function toScaleState(scale: ScaleObject, target: string): ScaleState {
  const selector = scale.status?.selector;
  if (!selector) {
    throw new KubeApiError(
      'get scale',
      target,
      undefined,
      'the scale subresource reports no status.selector, so its pods cannot be found; for a custom resource set `labelSelectorPath` in the CRD scale subresource and have its controller fill it',
    );
  }
  const state: ScaleState = { replicas: replicasOf(scale), selector };
  if (typeof scale.status?.replicas === 'number') state.statusReplicas = scale.status.replicas;
  if (scale.metadata?.resourceVersion) state.resourceVersion = scale.metadata.resourceVersion;
  return state;
}
