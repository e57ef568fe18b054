import { afterEach, describe, expect, it, vi } from 'vitest';
import type * as k8s from '@kubernetes/client-node';
import { Informer } from '../../../src/k8s/informer.js';
import { toPodInfo } from '../../../src/k8s/pod-source.js';
import type { PodInfo } from '../../../src/engine/seams.js';
import { pod, startFakeApiserver, type FakeApiserver } from './fake-apiserver.js';

let api: FakeApiserver | undefined;
let informer: Informer<k8s.V1Pod, PodInfo> | undefined;

afterEach(async () => {
  await informer?.stop();
  await api?.close();
  informer = undefined;
  api = undefined;
});

function makeInformer(
  a: FakeApiserver,
  opts: Partial<{ relistIntervalMs: number; watchdogMs: number }> = {},
): Informer<k8s.V1Pod, PodInfo> {
  return new Informer<k8s.V1Pod, PodInfo>({
    name: 'pods',
    kc: a.kc,
    path: '/api/v1/pods',
    list: async () => (await fetch(`${a.url}/api/v1/pods`)).json() as Promise<{ items: k8s.V1Pod[] }>,
    transform: toPodInfo,
    backoff: { initialMs: 20, maxMs: 200 },
    random: () => 0.5,
    relistIntervalMs: opts.relistIntervalMs ?? 60_000,
    watchdogMs: opts.watchdogMs ?? 60_000,
  });
}

const watches = (a: FakeApiserver) => a.requests.filter((r) => r.watch);
const lists = (a: FakeApiserver) => a.requests.filter((r) => !r.watch);

describe('Informer', () => {
  it('lists, then follows watch events, and asks for bookmarks from the listed resourceVersion', async () => {
    let items = [pod('a', '1')];
    api = await startFakeApiserver({
      list: () => ({ body: { items, metadata: { resourceVersion: '10' } } }),
    });
    informer = makeInformer(api);
    const seen: string[] = [];
    informer.on('add', (p) => seen.push(`add ${p.name}`));
    informer.on('update', (p) => seen.push(`update ${p.name} ready=${p.ready}`));
    informer.on('delete', (p) => seen.push(`delete ${p.name}`));
    informer.start();
    await informer.waitForSync(5_000);
    expect(informer.list('ns').map((p) => p.name)).toEqual(['a']);
    await vi.waitFor(() => expect(api!.streams.length).toBe(1));
    const s = api.streams[0]!;
    expect(s.query.get('resourceVersion')).toBe('10');
    expect(s.query.get('allowWatchBookmarks')).toBe('true');
    expect(Number(s.query.get('timeoutSeconds'))).toBeGreaterThan(0);
    s.send('ADDED', pod('b', '11'));
    s.send('MODIFIED', pod('a', '12', { ready: false }));
    s.send('DELETED', pod('b', '13'));
    await vi.waitFor(() => expect(seen).toEqual(['add a', 'add b', 'update a ready=false', 'delete b']));
    expect(informer.get('ns', 'a')?.ready).toBe(false);
    items = [];
    void items;
  });

  it('re-lists after 410 Gone and emits deletes for objects that vanished meanwhile', async () => {
    let items = [pod('a', '1'), pod('b', '2')];
    api = await startFakeApiserver({
      list: () => ({ body: { items, metadata: { resourceVersion: String(10 + lists(api!).length) } } }),
    });
    informer = makeInformer(api);
    const deleted: string[] = [];
    informer.on('delete', (p) => deleted.push(p.name));
    informer.start();
    await vi.waitFor(() => expect(api!.streams.length).toBe(1));
    items = [pod('a', '1')];
    api.streams[0]!.send('ERROR', { kind: 'Status', code: 410, message: 'too old resource version' });
    api.streams[0]!.end();
    await vi.waitFor(() => expect(deleted).toEqual(['b']));
    expect(lists(api).length).toBe(2);
    expect(informer.list().map((p) => p.name)).toEqual(['a']);
  });

  it('keeps going after a watch fails with 500 (client-node ListWatch stops for good)', async () => {
    let failWatches = 2;
    api = await startFakeApiserver({
      list: () => ({ body: { items: [pod('a', '1')], metadata: { resourceVersion: '5' } } }),
      watch: () => (failWatches-- > 0 ? 500 : 200),
    });
    informer = makeInformer(api);
    informer.start();
    await vi.waitFor(() => expect(api!.streams.length).toBe(1), { timeout: 5_000 });
    api.streams[0]!.send('ADDED', pod('c', '6'));
    await vi.waitFor(() => expect(informer!.get('ns', 'c')).toBeDefined());
    expect(informer.stats.errors).toBe(2);
    expect(watches(api).length).toBe(3);
  });

  it('backs off when the server closes every watch at once instead of reconnecting in a tight loop', async () => {
    api = await startFakeApiserver({
      list: () => ({ body: { items: [], metadata: { resourceVersion: '5' } } }),
      watch: (s) => {
        setImmediate(() => s.end());
      },
    });
    informer = makeInformer(api);
    informer.start();
    await new Promise((r) => setTimeout(r, 1_000));
    // 20, 40, 80, 160, 200, 200... ms of backoff: a handful of requests, not thousands (#1933).
    expect(watches(api).length).toBeGreaterThan(1);
    expect(watches(api).length).toBeLessThan(15);
  });

  it('restarts a watch that went silent (watchdog) and resumes from the last resourceVersion', async () => {
    api = await startFakeApiserver({
      list: () => ({ body: { items: [], metadata: { resourceVersion: '5' } } }),
    });
    informer = makeInformer(api, { watchdogMs: 300 });
    informer.start();
    await vi.waitFor(() => expect(api!.streams.length).toBe(1));
    api.streams[0]!.send('ADDED', pod('a', '7'));
    // ...then nothing: the watchdog must drop this stream and open another.
    await vi.waitFor(() => expect(api!.streams.length).toBeGreaterThanOrEqual(2), { timeout: 5_000 });
    expect(informer.stats.watchdogRestarts).toBeGreaterThanOrEqual(1);
    expect(api.streams[1]!.query.get('resourceVersion')).toBe('7');
    expect(lists(api).length).toBe(1);
  });

  it('re-lists periodically as a safety net', async () => {
    let items = [pod('a', '1')];
    api = await startFakeApiserver({ list: () => ({ body: { items, metadata: { resourceVersion: '5' } } }) });
    informer = makeInformer(api, { relistIntervalMs: 200 });
    informer.start();
    await informer.waitForSync(5_000);
    items = [pod('a', '1'), pod('missed', '9')];
    await vi.waitFor(() => expect(informer!.get('ns', 'missed')).toBeDefined(), { timeout: 5_000 });
    expect(informer.stats.relistsForced).toBeGreaterThanOrEqual(1);
  });

  it('retries a failing LIST with backoff and reports the error until it syncs', async () => {
    let fails = 3;
    api = await startFakeApiserver({
      list: () =>
        fails-- > 0
          ? { status: 503, body: { message: 'unavailable' } }
          : { body: { items: [pod('a', '1')], metadata: { resourceVersion: '5' } } },
    });
    informer = new Informer<k8s.V1Pod, PodInfo>({
      name: 'pods',
      kc: api.kc,
      path: '/api/v1/pods',
      list: async () => {
        const r = await fetch(`${api!.url}/api/v1/pods`);
        if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
        return r.json() as Promise<{ items: k8s.V1Pod[] }>;
      },
      transform: toPodInfo,
      backoff: { initialMs: 10, maxMs: 50 },
    });
    informer.start();
    await informer.waitForSync(5_000);
    expect(informer.stats.errors).toBe(3);
    expect(informer.stats.lastError).toContain('503');
    expect(informer.list().length).toBe(1);
  });

  it('waitForSync rejects with the last error when the apiserver never answers', async () => {
    api = await startFakeApiserver({ list: () => ({ status: 500, body: {} }) });
    const a = api;
    informer = new Informer<k8s.V1Pod, PodInfo>({
      name: 'pods',
      kc: a.kc,
      path: '/api/v1/pods',
      list: async () => {
        throw new Error('connection refused');
      },
      transform: toPodInfo,
      backoff: { initialMs: 10, maxMs: 20 },
    });
    informer.start();
    await expect(informer.waitForSync(200)).rejects.toThrow(/did not sync.*connection refused/);
  });
});
