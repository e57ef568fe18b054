#!/usr/bin/env node
// Runs the TypeScript CLI in place through tsx so a clean clone needs no build step.
import { mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// tsx caches compiled modules under the temp dir. In the shipped Deployment the root file system
// is read-only, and a cache that cannot be created would kill the process before it starts; an
// in-memory cache costs only start-up time.
try {
  rmdirSync(mkdtempSync(join(tmpdir(), 'inferscale-')));
} catch {
  process.env.TSX_DISABLE_CACHE = '1';
}
const { register } = await import('tsx/esm/api');
register();
await import('../src/cli/main.ts');
