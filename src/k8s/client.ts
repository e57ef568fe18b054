/**
 * Kubernetes client plumbing shared by the controller and the daemon: config loading, the typed API
 * clients, a small raw request helper (for discovery and anything the generated clients cannot
 * express) and error helpers that turn client-node's ApiException into text a user can act on.
 */
import http from 'node:http';
import https from 'node:https';
import * as k8s from '@kubernetes/client-node';

export interface KubeConfigOptions {
  /** Path of a kubeconfig file. Default: $KUBECONFIG, then ~/.kube/config, then in-cluster. */
  kubeconfig?: string;
  /** Context to use instead of the file's current-context. */
  context?: string;
  /** Force the in-cluster ServiceAccount configuration. */
  inCluster?: boolean;
}

/** Loads a KubeConfig; errors name the source that was tried. */
export function loadKubeConfig(opts: KubeConfigOptions = {}): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  try {
    if (opts.inCluster) kc.loadFromCluster();
    else if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    const source = opts.inCluster
      ? 'the in-cluster ServiceAccount'
      : (opts.kubeconfig ?? 'the default kubeconfig');
    throw new Error(`loading Kubernetes configuration from ${source}: ${errorMessage(err)}`);
  }
  if (opts.context) {
    if (!kc.getContextObject(opts.context)) {
      throw new Error(
        `kubeconfig has no context "${opts.context}" (known: ${
          kc
            .getContexts()
            .map((c) => c.name)
            .join(', ') || 'none'
        })`,
      );
    }
    kc.setCurrentContext(opts.context);
  }
  if (!kc.getCurrentCluster()) {
    throw new Error(
      'no Kubernetes cluster configured: pass --kubeconfig, set KUBECONFIG, or run in a pod with a ServiceAccount',
    );
  }
  return kc;
}

/** The namespace of the current context, or of the in-cluster ServiceAccount, or `default`. */
export function currentNamespace(kc: k8s.KubeConfig): string {
  const ctx = kc.getContextObject(kc.getCurrentContext());
  return ctx?.namespace || 'default';
}

export interface KubeClients {
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  custom: k8s.CustomObjectsApi;
  coordination: k8s.CoordinationV1Api;
  autoscaling: k8s.AutoscalingV2Api;
}

export function makeClients(kc: k8s.KubeConfig): KubeClients {
  return {
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    custom: kc.makeApiClient(k8s.CustomObjectsApi),
    coordination: kc.makeApiClient(k8s.CoordinationV1Api),
    autoscaling: kc.makeApiClient(k8s.AutoscalingV2Api),
  };
}

/** The ConfigurationOptions that make a patch call send `application/merge-patch+json`. */
export const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

export interface RawResponse {
  status: number;
  text: string;
  json: unknown;
}

/**
 * One HTTP request to the apiserver with the kubeconfig's credentials. Used for discovery
 * (`/apis/<group>/<version>`), which the generated clients only offer per built-in group.
 */
export async function rawRequest(
  kc: k8s.KubeConfig,
  method: string,
  path: string,
  opts: { body?: unknown; contentType?: string; timeoutMs?: number } = {},
): Promise<RawResponse> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster in kubeconfig');
  const url = new URL(cluster.server.replace(/\/$/, '') + path);
  const reqOpts: https.RequestOptions = { method, headers: { Accept: 'application/json' } };
  await kc.applyToHTTPSOptions(reqOpts);
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  if (payload !== undefined) {
    reqOpts.headers = {
      ...reqOpts.headers,
      'Content-Type': opts.contentType ?? 'application/json',
      'Content-Length': Buffer.byteLength(payload),
    };
  }
  const lib = url.protocol === 'http:' ? http : https;
  return new Promise<RawResponse>((resolve, reject) => {
    const req = lib.request(url, reqOpts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, text, json });
      });
      res.on('error', reject);
    });
    req.setTimeout(opts.timeoutMs ?? 15_000, () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** The HTTP status of a failed API call (ApiException `.code`), or undefined for transport errors. */
export function apiErrorCode(err: unknown): number | undefined {
  if (err instanceof k8s.ApiException) return err.code;
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; statusCode?: unknown };
    if (typeof e.code === 'number') return e.code;
    if (typeof e.statusCode === 'number') return e.statusCode;
  }
  return undefined;
}

/**
 * A short description of an API error: `409 Conflict: <apiserver's message>` rather than
 * client-node's message, which embeds the whole body and headers.
 */
export function errorMessage(err: unknown): string {
  if (err instanceof k8s.ApiException) {
    const body: unknown = err.body;
    let detail: string | undefined;
    if (typeof body === 'string') {
      try {
        const parsed = JSON.parse(body) as { message?: unknown };
        if (typeof parsed.message === 'string') detail = parsed.message;
      } catch {
        detail = body.slice(0, 300) || undefined;
      }
    } else if (
      body &&
      typeof body === 'object' &&
      typeof (body as { message?: unknown }).message === 'string'
    ) {
      detail = (body as { message: string }).message;
    }
    return `HTTP ${err.code}${detail ? `: ${detail}` : ''}`;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

/** An API failure that names what it was doing, on which object, and the HTTP status. */
export class KubeApiError extends Error {
  constructor(
    /** `get scale`, `update scale`, `patch status`... */
    readonly operation: string,
    /** `apps/v1 Deployment ns/name` */
    readonly target: string,
    /** HTTP status; undefined for transport errors (connection refused, timeout). */
    readonly code: number | undefined,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${operation} ${target}: ${detail}`, options);
    this.name = 'KubeApiError';
  }
}

export function wrapApiError(operation: string, target: string, err: unknown): KubeApiError {
  if (err instanceof KubeApiError) return err;
  return new KubeApiError(operation, target, apiErrorCode(err), errorMessage(err), { cause: err });
}

/** `{group, version}` of an apiVersion string (`apps/v1` → apps, v1; `v1` → '', v1). */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}
