/**
 * Where a model group gets its GPU profiles: files and directories on the controller (a mounted
 * ConfigMap, or the image's config/profiles), re-read at most every `ttlMs`. A file that cannot be
 * read or parsed is an error naming the file, and the GPU types it would have covered end up
 * "no profile" in status; it never takes the other files down with it.
 */
import type { Profile } from '../../algorithms/optimizer/profile.js';
import { gpuSpec } from '../../simulator/model/hardware.js';
import { readProfiles } from './profiles.js';

export interface ProfileLoad {
  /** Per path as given, the profiles it holds (missing when it failed). */
  byPath: Map<string, Profile[]>;
  /** One line per path that failed. */
  errors: string[];
}

export interface ProfileSource {
  load(paths: readonly string[]): Promise<ProfileLoad>;
}

/** Reads with `readProfiles`, caching each path's result (or error) for `ttlMs`. */
export class FileProfileSource implements ProfileSource {
  private readonly cache = new Map<string, { atMs: number; profiles?: Profile[]; error?: string }>();

  constructor(private readonly opts: { ttlMs?: number; now?: () => number } = {}) {}

  async load(paths: readonly string[]): Promise<ProfileLoad> {
    const now = (this.opts.now ?? Date.now)();
    const ttl = this.opts.ttlMs ?? 60_000;
    const out: ProfileLoad = { byPath: new Map(), errors: [] };
    for (const path of paths) {
      let entry = this.cache.get(path);
      if (entry === undefined || now - entry.atMs >= ttl) {
        try {
          entry = { atMs: now, profiles: (await readProfiles([path])).profiles };
        } catch (err) {
          entry = { atMs: now, error: err instanceof Error ? err.message : String(err) };
        }
        this.cache.set(path, entry);
      }
      if (entry.profiles !== undefined) out.byPath.set(path, entry.profiles);
      else out.errors.push(entry.error ?? `${path}: unreadable`);
    }
    return out;
  }
}

/** In-memory profiles (tests, the simulator): every path holds the same list. */
export class StaticProfileSource implements ProfileSource {
  constructor(private readonly profiles: readonly Profile[]) {}
  async load(paths: readonly string[]): Promise<ProfileLoad> {
    return { byPath: new Map(paths.map((p) => [p, [...this.profiles]])), errors: [] };
  }
}

/** GPU names compare case-insensitively and through the catalogue's aliases (A100 = A100-80GB). */
export function sameGpu(a: string, b: string): boolean {
  return canonicalGpu(a) === canonicalGpu(b);
}

function canonicalGpu(name: string): string {
  try {
    return gpuSpec(name).name.toLowerCase();
  } catch {
    return name.toLowerCase();
  }
}

export interface TargetProfiles {
  /** Per target, in order: its profile, or undefined. */
  profiles: Array<Profile | undefined>;
  /** The model planned for (given, or the profiles' only one). */
  model: string | undefined;
  /** Why targets have no profile, and other remarks. */
  notes: string[];
}

/**
 * Picks each target's profile: from its own `profile` file when it names one, else from the
 * search paths, matching the model and the GPU type. With no model given, the candidates must
 * name one model only.
 */
export function matchProfiles(
  targets: ReadonlyArray<{ gpu: string; profile?: string }>,
  model: string | undefined,
  searchPaths: readonly string[],
  load: ProfileLoad,
): TargetProfiles {
  const notes = [...load.errors];
  const search = searchPaths.flatMap((p) => load.byPath.get(p) ?? []);
  const candidatesOf = (t: { gpu: string; profile?: string }): Profile[] =>
    (t.profile !== undefined ? (load.byPath.get(t.profile) ?? []) : search).filter((p) =>
      sameGpu(p.gpu, t.gpu),
    );
  let chosenModel = model;
  if (chosenModel === undefined) {
    const models = [...new Set(targets.flatMap((t) => candidatesOf(t).map((p) => p.model)))];
    if (models.length === 1) chosenModel = models[0];
    else if (models.length > 1) {
      notes.push(
        `profiles for these GPU types cover several models (${models.join(', ')}); set spec.optimizer.model`,
      );
    }
  }
  const profiles = targets.map((t) => {
    const found = candidatesOf(t).filter((p) => chosenModel === undefined || p.model === chosenModel);
    if (found.length === 0) {
      const where = t.profile ?? searchPaths.join(', ');
      notes.push(`no profile for ${chosenModel ?? 'the model'} on ${t.gpu} in ${where}`);
      return undefined;
    }
    if (found.length > 1) {
      notes.push(
        `${found.length} profiles for ${chosenModel} on ${t.gpu}; using the first (${found[0]?.source ?? 'no source'})`,
      );
    }
    return found[0];
  });
  return { profiles, model: chosenModel, notes };
}
