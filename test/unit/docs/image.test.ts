/**
 * The container image (Dockerfile) holds `npm ci --omit=dev` plus the runtime folders and runs
 * with a read-only root file system (config/manager). These checks fail when the runtime code
 * reaches for something the image will not have.
 */
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
const RUNTIME = ['bin', 'algorithms', 'src', 'simulator'];
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.(ts|js|mjs)$/.test(name) ? [p] : [];
  });
}

/** Module specifiers of static imports, re-exports and dynamic imports. */
function specifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found = [
    ...text.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'/gms),
    ...text.matchAll(/^\s*import\s+'([^']+)'/gm),
    ...text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g),
  ];
  return found.map((m) => m[1]!);
}

const files = RUNTIME.flatMap((d) => sources(path.join(ROOT, d)));

describe('container image', () => {
  it('runtime code imports only production dependencies and node built-ins', () => {
    const missing: string[] = [];
    for (const f of files) {
      for (const s of specifiers(f)) {
        if (s.startsWith('.') || s.startsWith('node:')) continue;
        const name = s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!;
        if (!(name in pkg.dependencies)) missing.push(`${path.relative(ROOT, f)}: ${s}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('runtime code does not import from folders the image leaves out', () => {
    const outside: string[] = [];
    for (const f of files) {
      for (const s of specifiers(f)) {
        if (!s.startsWith('.')) continue;
        const top = path.relative(ROOT, path.resolve(path.dirname(f), s)).split(path.sep)[0]!;
        if (!RUNTIME.includes(top)) outside.push(`${path.relative(ROOT, f)}: ${s}`);
      }
    }
    expect(outside).toEqual([]);
  });

  it('the Dockerfile copies every runtime folder and config, and each exists', () => {
    const docker = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    const copied = [...docker.matchAll(/^COPY\s+(.+)\s+\S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
    for (const c of copied) expect(existsSync(path.join(ROOT, c)), c).toBe(true);
    expect(copied).toEqual(expect.arrayContaining([...RUNTIME, 'config', 'package-lock.json']));
    expect(docker).toMatch(/npm ci --omit=dev/);
  });

  it('the CLI starts when the temp dir cannot be written (read-only root file system)', async () => {
    // A temp "dir" that is a file: nothing can be created in it, even by root.
    const notADir = path.join(tmpdir(), `inferscale-not-a-dir-${process.pid}`);
    writeFileSync(notADir, '');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [path.join(ROOT, 'bin/inferscale.js'), 'controller', '--help'],
      { env: { ...process.env, TMPDIR: notADir, TSX_DISABLE_CACHE: '' }, timeout: 60_000 },
    );
    expect(stdout).toMatch(/Usage: inferscale controller/);
  }, 60_000);
});
