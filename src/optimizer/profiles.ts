/**
 * Profile files: reading ours (JSON or YAML), AIBrix's and Mélange's, and writing ours.
 *
 * A file may hold one profile, a JSON array of them, or several YAML documents. The format is
 * recognised by its fields, not by its name: `kind: GpuProfile` is ours, `tputs` + `indexes` is
 * AIBrix, `gpu_info` is a Mélange solver config (which also carries a workload).
 */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { Document, isScalar, parseAllDocuments, visit } from 'yaml';
import { describeZodError } from '../api/issues.js';
import {
  AibrixProfileSchema,
  fromAibrixProfile,
  MelangeConfigSchema,
  profilesFromMelange,
  ProfileSchema,
  PROFILE_KIND,
  type MelangeConfig,
  type Profile,
  type ProfileInput,
} from '../../algorithms/optimizer/profile.js';

export interface ProfileReadOptions {
  /** Model name for formats that do not carry one (AIBrix, Mélange). */
  model?: string;
}

export interface ProfileDocument {
  profiles: Profile[];
  /** Present when the file was a Mélange solver config. */
  melange?: MelangeConfig;
}

const PROFILE_EXTENSIONS = new Set(['.json', '.yaml', '.yml']);

function parseDocuments(text: string, where: string): unknown[] {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      const value: unknown = JSON.parse(text);
      return Array.isArray(value) ? value : [value];
    } catch (err) {
      throw new Error(`${where}: invalid JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  const values: unknown[] = [];
  for (const [i, doc] of list.entries()) {
    if (doc.errors.length > 0)
      throw new Error(`${where}: invalid YAML in document ${i + 1}: ${doc.errors[0]?.message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (Array.isArray(value)) values.push(...(value as unknown[]));
    else values.push(value);
  }
  return values;
}

/** Parses one file's text; `where` names the file (and is used in every error). */
export function parseProfileDocument(
  text: string,
  where: string,
  options: ProfileReadOptions = {},
): ProfileDocument {
  const values = parseDocuments(text, where);
  if (values.length === 0) throw new Error(`${where}: no profile found (the file is empty)`);
  const out: ProfileDocument = { profiles: [] };
  values.forEach((value, i) => {
    const at = values.length > 1 ? `${where} [${i}]` : where;
    if (typeof value !== 'object' || value === null)
      throw new Error(`${at}: expected an object, got ${typeof value}`);
    const record = value as Record<string, unknown>;
    if (record.kind === PROFILE_KIND) {
      const parsed = ProfileSchema.safeParse(record);
      if (!parsed.success) throw new Error(`${at}: invalid profile: ${describeZodError(parsed.error)}`);
      out.profiles.push(parsed.data);
    } else if ('tputs' in record && 'indexes' in record) {
      const parsed = AibrixProfileSchema.safeParse(record);
      if (!parsed.success)
        throw new Error(`${at}: invalid AIBrix profile: ${describeZodError(parsed.error)}`);
      try {
        out.profiles.push(
          fromAibrixProfile(parsed.data, {
            model: options.model ?? 'unknown',
            source: `converted from AIBrix profile ${where}`,
          }),
        );
      } catch (err) {
        throw new Error(`${at}: ${err instanceof Error ? err.message : String(err)}`);
      }
    } else if ('gpu_info' in record) {
      const parsed = MelangeConfigSchema.safeParse(record);
      if (!parsed.success)
        throw new Error(`${at}: invalid Mélange config: ${describeZodError(parsed.error)}`);
      try {
        out.profiles.push(...profilesFromMelange(parsed.data, options.model));
      } catch (err) {
        throw new Error(`${at}: ${err instanceof Error ? err.message : String(err)}`);
      }
      out.melange = parsed.data;
    } else {
      throw new Error(
        `${at}: not a profile: expected \`kind: ${PROFILE_KIND}\` (inferscale), \`tputs\` + \`indexes\` (AIBrix) or \`gpu_info\` (Mélange config)`,
      );
    }
  });
  return out;
}

/** Reads files and directories (their *.json, *.yaml, *.yml, not recursively). */
export async function readProfiles(
  paths: readonly string[],
  options: ProfileReadOptions = {},
): Promise<ProfileDocument> {
  const out: ProfileDocument = { profiles: [] };
  for (const path of paths) {
    let files: string[];
    try {
      const info = await stat(path);
      files = info.isDirectory()
        ? (await readdir(path))
            .filter((f) => PROFILE_EXTENSIONS.has(extname(f).toLowerCase()))
            .sort()
            .map((f) => join(path, f))
        : [path];
    } catch (err) {
      throw new Error(
        `cannot read profiles from ${path}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    for (const file of files) {
      const doc = parseProfileDocument(await readFile(file, 'utf8'), file, options);
      out.profiles.push(...doc.profiles);
      if (doc.melange !== undefined) {
        if (out.melange !== undefined) throw new Error(`${file}: only one Mélange config may be given`);
        out.melange = doc.melange;
      }
    }
  }
  return out;
}

export interface SerializeOptions {
  format?: 'yaml' | 'json';
  /**
   * Significant digits kept in `maxRps` (default 6). Measured rates are not meaningful beyond
   * that, and short rows keep the file readable; `full` keeps every digit.
   */
  digits?: number | 'full';
}

/** Validates and renders a profile as YAML (default) or JSON. */
export function serializeProfile(profile: ProfileInput, options: SerializeOptions = {}): string {
  const parsed = ProfileSchema.safeParse(profile);
  if (!parsed.success) {
    throw new Error(`refusing to write an invalid profile: ${describeZodError(parsed.error)}`);
  }
  const digits = options.digits ?? 6;
  const data =
    digits === 'full'
      ? parsed.data
      : {
          ...parsed.data,
          maxRps: parsed.data.maxRps.map((row) => row.map((v) => Number(v.toPrecision(digits)))),
        };
  if (options.format === 'json') return JSON.stringify(data, null, 2) + '\n';
  // Lists of numbers (ticks, matrix rows) read best on one line each.
  const doc = new Document(data);
  doc.commentBefore =
    ' inferscale GPU profile (docs/optimizer.md). maxRps[i][o]: max req/s of one replica within the SLO\n' +
    ' for input length grid.input[i] and output length grid.output[o]; 0 = cannot meet the SLO.';
  visit(doc, {
    Seq(_key, node) {
      if (node.items.every((item) => isScalar(item))) node.flow = true;
    },
  });
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

/** Writes a profile; the extension (.json, .yaml, .yml) picks the format. */
export async function writeProfile(
  path: string,
  profile: ProfileInput,
  options: Omit<SerializeOptions, 'format'> = {},
): Promise<void> {
  const ext = extname(path).toLowerCase();
  if (!PROFILE_EXTENSIONS.has(ext)) throw new Error(`${path}: profile files end in .yaml, .yml or .json`);
  await writeFile(path, serializeProfile(profile, { ...options, format: ext === '.json' ? 'json' : 'yaml' }));
}
