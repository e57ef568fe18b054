import type { PodInfo } from '../../src/engine/seams.js';

/** A Running, Ready pod as a PodSource lists it; `over` sets the fields a test is about. */
export function readyPod(name: string, over: Partial<PodInfo> = {}): PodInfo {
  return {
    name,
    namespace: 'default',
    ip: '127.0.0.1',
    phase: 'Running',
    ready: true,
    terminating: false,
    labels: {},
    ...over,
  };
}
