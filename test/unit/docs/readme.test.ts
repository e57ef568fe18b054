/**
 * The README's cluster section is what a user installs from: its flag table must name every flag
 * `inferscale controller` has (and none it lacks), and its daemon example must be a valid targets
 * file.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { command as controllerCommand } from '../../../src/cli/commands/controller.js';
import { resolvePodAutoscaler } from '../../../src/api/resolve.js';

const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

function section(heading: string): string {
  const start = README.indexOf(heading);
  if (start < 0) throw new Error(`README has no "${heading}" section`);
  const rest = README.slice(start + heading.length);
  const end = rest.search(/\n#{2,3} /);
  return end < 0 ? rest : rest.slice(0, end);
}

describe('README', () => {
  it('lists exactly the controller flags the CLI has', () => {
    const table = section('### Controller flags');
    const documented = new Set(
      table
        .split('\n')
        .filter((l) => l.startsWith('| `--'))
        .flatMap((l) => [...l.split('|')[1]!.matchAll(/`(--[a-z-]+)/g)].map((m) => m[1]!)),
    );
    const actual = new Set(controllerCommand.options.map((o) => o.long!).filter((f) => f !== '--help'));
    expect([...documented].sort()).toEqual([...actual].sort());
  });

  it('the daemon example is a valid targets file', () => {
    const block = /```yaml\n([\s\S]*?)```/.exec(section("### The daemon's config format"))?.[1];
    expect(block).toBeDefined();
    const docs = parseAllDocuments(block!);
    expect(docs.length).toBeGreaterThan(0);
    for (const d of docs) {
      const r = resolvePodAutoscaler(d.toJS());
      expect(r.ok ? [] : r.issues).toEqual([]);
    }
  });
});
