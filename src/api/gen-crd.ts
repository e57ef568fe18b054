/**
 * `npm run gen:crd`: writes config/crd/autoscaling.inferscale.dev_podautoscalers.yaml from the zod
 * schemas. test/unit/api/crd-fresh.test.ts fails when the checked-in file is stale.
 * `--check` only compares (exit 1 when stale), for CI.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CRD_PATH, renderCrdYaml } from './crd.js';

export { buildCrd, renderCrdYaml, CRD_PATH } from './crd.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function main(argv: readonly string[]): number {
  const file = resolve(repoRoot, CRD_PATH);
  const yaml = renderCrdYaml();
  if (argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(file, 'utf8');
    } catch {
      // A missing file is stale.
    }
    if (current === yaml) return 0;
    console.error(`${CRD_PATH} is stale: run npm run gen:crd`);
    return 1;
  }
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, yaml);
  console.log(`wrote ${CRD_PATH}`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
