import { defineConfig } from 'vitest/config';

/**
 * The end-to-end tests on the real control plane run real-time emulated vLLM pods whose latency
 * the tests measure (the fidelity test compares it with the simulator within 10 %). Next to other
 * CPU-heavy test files on a 2-core machine they measure the machine instead, so they run after
 * everything else, one file at a time.
 */
const LIVE_E2E = 'test/e2e/k8s-*.test.ts';

export default defineConfig({
  test: {
    // Integration tests start real processes (etcd, apiserver, prometheus); give them room but keep
    // every test bounded.
    testTimeout: 60_000,
    hookTimeout: 300_000,
    // Two cores: avoid oversubscribing when integration tests spawn servers.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['test/**/*.test.ts'],
          exclude: [LIVE_E2E],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'live-e2e',
          include: [LIVE_E2E],
          fileParallelism: false,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
