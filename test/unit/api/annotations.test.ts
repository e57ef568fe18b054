import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KNOWN_ANNOTATION_KEYS, parseAnnotations } from '../../../src/api/annotations.js';

const A = (name: string) => `autoscaling.aibrix.ai/${name}`;
const I = (name: string) => `autoscaling.inferscale.dev/${name}`;

describe('parseAnnotations', () => {
  it('reads every AIBrix annotation with its Go syntax', () => {
    const r = parseAnnotations({
      [A('max-scale-up-rate')]: '3',
      [A('max-scale-down-rate')]: '1.5',
      [A('scale-up-tolerance')]: '0.05',
      [A('scale-down-tolerance')]: '0',
      [A('panic-threshold')]: '2.5',
      [A('scale-up-cooldown-window')]: '30s',
      [A('scale-down-cooldown-window')]: '1h',
      [A('scale-to-zero')]: 'T',
      [A('storm-service-mode')]: 'replica',
    });
    expect(r.issues).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.settings).toEqual({
      maxScaleUpRate: 3,
      maxScaleDownRate: 1.5,
      upTolerance: 0.05,
      downTolerance: 0,
      panicThreshold: 2.5,
      scaleUpCooldownSeconds: 30,
      scaleDownCooldownSeconds: 3600,
      scaleToZero: true,
      stormServiceMode: 'replica',
    });
  });

  it('reports every bad value, not just the first (W-10)', () => {
    const r = parseAnnotations({
      [A('max-scale-up-rate')]: 'fast',
      [A('scale-down-tolerance')]: '1.5',
      [A('scale-up-cooldown-window')]: '2d',
      [A('max-scale-down-rate')]: '3',
    });
    expect(r.issues.map((i) => i.path)).toEqual([
      'metadata.annotations["autoscaling.aibrix.ai/max-scale-up-rate"]',
      'metadata.annotations["autoscaling.aibrix.ai/scale-down-tolerance"]',
      'metadata.annotations["autoscaling.aibrix.ai/scale-up-cooldown-window"]',
    ]);
    expect(r.issues.every((i) => i.reason === 'InvalidAnnotation')).toBe(true);
    expect(r.issues[0]!.message).toContain('strconv.ParseFloat: parsing "fast": invalid syntax');
    expect(r.issues[2]!.message).toContain('time: unknown unit "d" in duration "2d"');
    // The good one still parses.
    expect(r.settings.maxScaleDownRate).toBe(3);
  });

  it.each([
    [A('max-scale-up-rate'), '1'],
    [A('max-scale-up-rate'), '0'],
    [A('max-scale-down-rate'), '0.5'],
    [A('max-scale-down-rate'), '-2'],
    [A('max-scale-up-rate'), 'Inf'],
    [A('max-scale-up-rate'), 'NaN'],
    [A('scale-up-tolerance'), '1'],
    [A('scale-up-tolerance'), '-0.1'],
    [A('scale-down-tolerance'), 'NaN'],
    [A('panic-threshold'), '1'],
    [A('panic-threshold'), '200'],
    [A('panic-threshold'), '+Inf'],
    [A('scale-up-cooldown-window'), '-5s'],
    [A('scale-down-cooldown-window'), '1h0m1s'],
    [A('scale-down-cooldown-window'), '300'],
    ['apa.autoscaling.aibrix.ai/window', '0s'],
    ['apa.autoscaling.aibrix.ai/window', '500ms'],
    [A('scale-to-zero'), 'yes'],
    [I('dry-run'), 'on'],
  ])('rejects %s: %j (range checks, W-10/W-31)', (key, value) => {
    const r = parseAnnotations({ [key]: value });
    expect(r.issues).toHaveLength(1);
    expect(r.issues[0]!.path).toBe(`metadata.annotations[${JSON.stringify(key)}]`);
    expect(r.issues[0]!.message).toMatch(/Use /);
  });

  it('is deterministic whatever the key order (property)', () => {
    const entries: [string, string][] = [
      [A('max-scale-up-rate'), '0.5'],
      [A('max-scale-down-rate'), 'x'],
      [A('scale-up-tolerance'), '0.2'],
      ['autoscaling.aibrix.ai/up-fluctuation-tolerance', '0.3'],
      [I('scale-up-tolerance'), '0.25'],
      ['kpa.autoscaling.aibrix.ai/tolerance', '0.4'],
      ['kpa.autoscaling.aibrix.ai/scale-down-delay', '60s'],
      [A('scale-down-cooldown-window'), '2m'],
      [A('panic-threshold'), 'NaN'],
      [A('typo-rate'), '2'],
      ['unrelated.io/x', 'y'],
    ];
    const reference = parseAnnotations(Object.fromEntries(entries));
    fc.assert(
      fc.property(fc.shuffledSubarray(entries, { minLength: entries.length }), (shuffled) => {
        expect(parseAnnotations(Object.fromEntries(shuffled))).toEqual(reference);
      }),
      { numRuns: 50 },
    );
    expect(reference.issues).toHaveLength(3);
  });

  it('prefers our key, then AIBrix’s key, then keys AIBrix ignores, and says so', () => {
    const r = parseAnnotations({
      'kpa.autoscaling.aibrix.ai/tolerance': '0.4',
      'autoscaling.aibrix.ai/up-fluctuation-tolerance': '0.3',
      [A('scale-up-tolerance')]: '0.2',
      [I('scale-up-tolerance')]: '0.25',
    });
    expect(r.settings.upTolerance).toBe(0.25);
    expect(r.sources.upTolerance).toBe(I('scale-up-tolerance'));
    // kpa tolerance sets both directions; nothing else sets the down one.
    expect(r.settings.downTolerance).toBe(0.4);
    const overridden = r.warnings.filter((w) => w.reason === 'Overridden').map((w) => w.path);
    expect(overridden).toEqual([
      'metadata.annotations["autoscaling.aibrix.ai/scale-up-tolerance"]',
      'metadata.annotations["autoscaling.aibrix.ai/up-fluctuation-tolerance"]',
      'metadata.annotations["kpa.autoscaling.aibrix.ai/tolerance"]',
    ]);
  });

  it('maps the keys AIBrix ignores, with a warning naming the field', () => {
    const r = parseAnnotations({
      'autoscaling.aibrix.ai/up-fluctuation-tolerance': '0.1',
      'autoscaling.aibrix.ai/down-fluctuation-tolerance': '0.2',
      'apa.autoscaling.aibrix.ai/window': '30s',
      'kpa.autoscaling.aibrix.ai/scale-down-delay': '3m',
      'kpa.autoscaling.aibrix.ai/panic-window': '10s',
      'kpa.autoscaling.aibrix.ai/stable-window': '2m',
      'kpa.autoscaling.aibrix.ai/panic-threshold': '3',
      'kpa.autoscaling.aibrix.ai/scale-up-cooldown': '15s',
    });
    expect(r.issues).toEqual([]);
    expect(r.settings).toEqual({
      upTolerance: 0.1,
      downTolerance: 0.2,
      apaWindowSeconds: 30,
      scaleDownCooldownSeconds: 180,
      kpaPanicWindowSeconds: 10,
      kpaStableWindowSeconds: 120,
      panicThreshold: 3,
      scaleUpCooldownSeconds: 15,
    });
    const mapped = r.warnings.filter((w) => w.reason === 'MappedAnnotation');
    expect(mapped).toHaveLength(8);
    expect(mapped.find((w) => w.path.includes('scale-down-delay'))!.message).toContain(
      'behavior.scaleDown.stabilizationWindowSeconds = 180',
    );
    expect(mapped.find((w) => w.path.includes('apa.autoscaling'))!.message).toContain(
      'apa.windowSeconds = 30',
    );
  });

  it('ignores the keys AIBrix ignores in parity mode', () => {
    const r = parseAnnotations(
      { 'apa.autoscaling.aibrix.ai/window': '30s', [A('max-scale-up-rate')]: '3' },
      { aibrixParity: true },
    );
    expect(r.settings).toEqual({ maxScaleUpRate: 3 });
    expect(r.warnings.map((w) => w.reason)).toEqual(['IgnoredAnnotation']);
  });

  it('warns about unknown keys under our prefixes, with a suggestion, and ignores other prefixes', () => {
    const r = parseAnnotations({
      'autoscaling.aibrix.ai/max-scale-uprate': '2',
      'kubectl.kubernetes.io/last-applied-configuration': '{}',
    });
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]!.message).toContain('Did you mean autoscaling.aibrix.ai/max-scale-up-rate?');
  });

  it('truncates sub-second windows to whole seconds with a warning', () => {
    const r = parseAnnotations({ [A('scale-up-cooldown-window')]: '1500ms' });
    expect(r.settings.scaleUpCooldownSeconds).toBe(1);
    expect(r.warnings[0]!.message).toContain('truncated to 1s');
  });

  it('treats an unknown storm-service-mode as pool, like AIBrix, with a warning', () => {
    const r = parseAnnotations({ [A('storm-service-mode')]: 'Replica' });
    expect(r.settings.stormServiceMode).toBe('pool');
    expect(r.warnings).toHaveLength(1);
  });

  it('lists the keys it reads', () => {
    expect(KNOWN_ANNOTATION_KEYS).toContain(I('max-scale-up-rate'));
    expect(KNOWN_ANNOTATION_KEYS).toContain('kpa.autoscaling.aibrix.ai/scale-down-delay');
    expect([...KNOWN_ANNOTATION_KEYS].sort()).toEqual(KNOWN_ANNOTATION_KEYS);
  });
});
