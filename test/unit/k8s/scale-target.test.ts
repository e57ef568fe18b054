import { afterEach, describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { KubeScaleTarget, ScaleConflictError, type ScaleObject } from '../../../src/k8s/scale-target.js';
import { KubeApiError } from '../../../src/k8s/client.js';
import { startFakeApiserver, type FakeApiserver } from './fake-apiserver.js';

/** One scalable object behind a /scale subresource with resourceVersion checks. */
class FakeScale {
  replicas = 3;
  rv = 100;
  selector: string | undefined = 'app=llm';
  replaces: ScaleObject[] = [];
  patches: { body: unknown; contentType: string | undefined }[] = [];
  /** Runs before each replace is checked (to simulate concurrent writers). */
  beforeReplace: (() => void) | undefined;
  failNext: number[] = [];

  read(): ScaleObject {
    const f = this.failNext.shift();
    if (f) throw new k8s.ApiException(f, 'fail', JSON.stringify({ message: `injected ${f}` }), {});
    return {
      metadata: { name: 'vllm', namespace: 'ns', resourceVersion: String(this.rv) },
      spec: this.replicas === 0 ? {} : { replicas: this.replicas },
      status: { replicas: this.replicas, ...(this.selector ? { selector: this.selector } : {}) },
    };
  }

  replace(body: ScaleObject): ScaleObject {
    this.beforeReplace?.();
    const f = this.failNext.shift();
    if (f) throw new k8s.ApiException(f, 'fail', JSON.stringify({ message: `injected ${f}` }), {});
    this.replaces.push(body);
    if (body.metadata?.resourceVersion !== String(this.rv)) {
      throw new k8s.ApiException(
        409,
        'conflict',
        JSON.stringify({ message: 'the object has been modified' }),
        {},
      );
    }
    this.replicas = body.spec?.replicas ?? 0;
    this.rv++;
    return this.read();
  }
}

function fakeClients(f: FakeScale, kc = new k8s.KubeConfig()) {
  const apps = {
    readNamespacedDeploymentScale: async () => f.read(),
    replaceNamespacedDeploymentScale: async ({ body }: { body: ScaleObject }) => f.replace(body),
    patchNamespacedDeploymentScale: async (
      { body }: { body: { spec: { replicas: number } } },
      opts?: unknown,
    ) => {
      f.patches.push({ body, contentType: contentTypeOf(opts) });
      f.replicas = body.spec.replicas;
      f.rv++;
      return f.read();
    },
  };
  const custom = {
    calls: [] as unknown[],
    getNamespacedCustomObjectScale: async (args: unknown) => {
      custom.calls.push(args);
      return f.read();
    },
    replaceNamespacedCustomObjectScale: async (args: { body: ScaleObject }) => {
      custom.calls.push(args);
      return f.replace(args.body);
    },
    patchNamespacedCustomObjectScale: async (args: unknown) => args,
  };
  return {
    kc,
    apps: apps as unknown as k8s.AppsV1Api,
    core: {} as k8s.CoreV1Api,
    custom: custom as unknown as k8s.CustomObjectsApi,
    customFake: custom,
  };
}

function contentTypeOf(opts: unknown): string | undefined {
  // setHeaderOptions returns a middleware configuration; find the header it sets by running it.
  const mw = (opts as { middleware?: { pre(ctx: unknown): { toPromise(): Promise<unknown> } }[] })
    ?.middleware?.[0];
  if (!mw) return undefined;
  const headers: Record<string, string> = {};
  const ctx = { setHeaderParam: (k: string, v: string) => (headers[k] = v) };
  void mw.pre(ctx).toPromise();
  return headers['Content-Type'];
}

const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'vllm' };
const noSleep = async () => undefined;

describe('KubeScaleTarget (update mode)', () => {
  it('reads spec.replicas, status.selector and resourceVersion; a Scale without spec.replicas is 0', async () => {
    const f = new FakeScale();
    const t = new KubeScaleTarget({ clients: fakeClients(f), sleep: noSleep });
    expect(await t.get('ns', deployment)).toEqual({
      replicas: 3,
      selector: 'app=llm',
      statusReplicas: 3,
      resourceVersion: '100',
    });
    f.replicas = 0;
    expect((await t.get('ns', deployment)).replicas).toBe(0);
  });

  it('fails clearly when the scale subresource has no selector', async () => {
    const f = new FakeScale();
    f.selector = undefined;
    const t = new KubeScaleTarget({ clients: fakeClients(f), sleep: noSleep });
    await expect(t.get('ns', deployment)).rejects.toThrow(
      /apps\/v1 Deployment ns\/vllm: .*no status.selector.*labelSelectorPath/,
    );
  });

  it('writes with the resourceVersion of the read the decision was based on', async () => {
    const f = new FakeScale();
    const t = new KubeScaleTarget({ clients: fakeClients(f), sleep: noSleep });
    await t.get('ns', deployment);
    await t.set('ns', deployment, 5);
    expect(f.replicas).toBe(5);
    expect(f.replaces).toHaveLength(1);
    expect(f.replaces[0]!.metadata?.resourceVersion).toBe('100');
  });

  it('re-reads and re-applies on 409 when only the resourceVersion moved (e.g. a status update)', async () => {
    const f = new FakeScale();
    const t = new KubeScaleTarget({ clients: fakeClients(f), sleep: noSleep });
    await t.get('ns', deployment);
    let bumps = 2;
    f.beforeReplace = () => {
      if (bumps-- > 0) f.rv++; // the Deployment controller wrote status in between
    };
    await t.set('ns', deployment, 6);
    expect(f.replicas).toBe(6);
    expect(t.conflicts).toBe(2);
    expect(f.replaces.map((r) => r.metadata?.resourceVersion)).toEqual(['100', '101', '102']);
  });

  it('does not overwrite a concurrent change of spec.replicas', async () => {
    const f = new FakeScale();
    const t = new KubeScaleTarget({ clients: fakeClients(f), sleep: noSleep });
    await t.get('ns', deployment); // decision based on 3
    f.replicas = 8; // a human scaled it meanwhile
    f.rv++;
    const err = await t.set('ns', deployment, 5).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScaleConflictError);
    expect((err as ScaleConflictError).code).toBe(409);
    expect((err as Error).message).toMatch(/changed from 3 to 8 .*not overwriting it with 5/);
    expect(f.replicas).toBe(8);
  });

  it('succeeds without writing when the target already has the wanted size after a conflict', async () => {
    const f = new FakeScale();
    const t = new KubeScaleTarget({ clients: fakeClients(f), sleep: noSleep });
    await t.get('ns', deployment);
    f.beforeReplace = () => {
      f.replicas = 5;
      f.rv++;
      f.beforeReplace = undefined;
    };
    await t.set('ns', deployment, 5);
    expect(f.replicas).toBe(5);
  });

  it('gives up after maxAttempts conflicts with a 409 that names the target', async () => {
    const f = new FakeScale();
    const t = new KubeScaleTarget({ clients: fakeClients(f), sleep: noSleep, maxAttempts: 3 });
    await t.get('ns', deployment);
    f.beforeReplace = () => f.rv++;
    const err = (await t.set('ns', deployment, 5).catch((e: unknown) => e)) as KubeApiError;
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err.code).toBe(409);
    expect(err.message).toMatch(/update scale apps\/v1 Deployment ns\/vllm: gave up after 3 attempts/);
    expect(f.replaces).toHaveLength(3);
  });

  it('retries transient errors and not permanent ones', async () => {
    const f = new FakeScale();
    const sleeps: number[] = [];
    const t = new KubeScaleTarget({
      clients: fakeClients(f),
      sleep: async (ms) => void sleeps.push(ms),
      random: () => 1,
    });
    await t.get('ns', deployment);
    f.failNext = [503, 500];
    await t.set('ns', deployment, 4);
    expect(f.replicas).toBe(4);
    expect(sleeps).toEqual([20, 40]);

    f.failNext = [403];
    const err = (await t.set('ns', deployment, 7).catch((e: unknown) => e)) as KubeApiError;
    expect(err.code).toBe(403);
    expect(err.message).toContain('injected 403');
    expect(f.replicas).toBe(4);
  });

  it('rejects a negative or fractional size before any call', async () => {
    const f = new FakeScale();
    const t = new KubeScaleTarget({ clients: fakeClients(f), sleep: noSleep });
    await expect(t.set('ns', deployment, -1)).rejects.toThrow(/not a non-negative integer/);
    await expect(t.set('ns', deployment, 1.5)).rejects.toThrow(/not a non-negative integer/);
  });
});

describe('KubeScaleTarget (patch mode)', () => {
  it('sends one JSON merge patch of spec.replicas', async () => {
    const f = new FakeScale();
    const t = new KubeScaleTarget({ clients: fakeClients(f), writeMode: 'patch', sleep: noSleep });
    await t.set('ns', deployment, 9);
    expect(f.patches).toEqual([
      { body: { spec: { replicas: 9 } }, contentType: 'application/merge-patch+json' },
    ]);
    expect(f.replicas).toBe(9);
  });
});

describe('KubeScaleTarget (custom resources)', () => {
  let api: FakeApiserver | undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  async function withDiscovery(resources: unknown[] | undefined) {
    api = await startFakeApiserver({
      other: (_req, url) =>
        url.pathname === '/apis/serving.example.com/v1' && resources
          ? {
              status: 200,
              body: { kind: 'APIResourceList', groupVersion: 'serving.example.com/v1', resources },
            }
          : { status: 404, body: { message: 'not found' } },
    });
    return api;
  }

  const ref = { apiVersion: 'serving.example.com/v1', kind: 'LLMServer', name: 'vllm' };

  it('finds the plural by discovery once and uses the scale subresource', async () => {
    const a = await withDiscovery([
      { name: 'llmservers', kind: 'LLMServer', namespaced: true },
      { name: 'llmservers/scale', kind: 'Scale', namespaced: true },
      { name: 'llmservers/status', kind: 'LLMServer', namespaced: true },
    ]);
    const f = new FakeScale();
    const clients = fakeClients(f, a.kc);
    const t = new KubeScaleTarget({ clients, sleep: noSleep });
    expect((await t.get('ns', ref)).replicas).toBe(3);
    await t.set('ns', ref, 4);
    await t.get('ns', ref);
    expect(clients.customFake.calls[0]).toEqual({
      group: 'serving.example.com',
      version: 'v1',
      namespace: 'ns',
      plural: 'llmservers',
      name: 'vllm',
    });
    expect(f.replicas).toBe(4);
    expect(a.requests.filter((r) => r.url === '/apis/serving.example.com/v1')).toHaveLength(1);
  });

  it('explains a kind without a scale subresource', async () => {
    const a = await withDiscovery([{ name: 'llmservers', kind: 'LLMServer', namespaced: true }]);
    const t = new KubeScaleTarget({ clients: fakeClients(new FakeScale(), a.kc), sleep: noSleep });
    await expect(t.get('ns', ref)).rejects.toThrow(
      /LLMServer \(llmservers.serving.example.com\) has no scale subresource/,
    );
  });

  it('explains an unknown kind and an unserved group', async () => {
    const a = await withDiscovery([{ name: 'others', kind: 'Other', namespaced: true }]);
    const t = new KubeScaleTarget({ clients: fakeClients(new FakeScale(), a.kc), sleep: noSleep });
    await expect(t.get('ns', ref)).rejects.toThrow(/has no kind LLMServer \(it serves: Other\)/);
    const t2 = new KubeScaleTarget({ clients: fakeClients(new FakeScale(), a.kc), sleep: noSleep });
    await expect(t2.get('ns', { ...ref, apiVersion: 'nope.example.com/v1' })).rejects.toThrow(
      /does not serve nope.example.com\/v1.*CRD installed/,
    );
  });
});
