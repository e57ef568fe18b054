import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real processes (etcd, apiserver, prometheus); give them room but keep
    // every test bounded.
    testTimeout: 60_000,
    hookTimeout: 300_000,
    // Two cores: avoid oversubscribing when integration tests spawn servers.
    maxWorkers: 2,
  },
});
