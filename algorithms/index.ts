/**
 * The pure decision core: three recommenders behind one interface, plus the building blocks the
 * engine composes around them (windows, HPA behavior, schedules, bounds, multi-metric combine).
 */
import { apaAlgorithm } from './apa.js';
import { hpaAlgorithm } from './hpa.js';
import { kpaAlgorithm } from './kpa.js';

export const algorithms = { kpa: kpaAlgorithm, apa: apaAlgorithm, hpa: hpaAlgorithm } as const;
export { kpaAlgorithm as kpa, apaAlgorithm as apa, hpaAlgorithm as hpa };
export type AlgorithmName = keyof typeof algorithms;

export * from './types.js';
export type * from './params.js';
export * from './window.js';
export * from './kpa.js';
export * from './apa.js';
export * from './hpa.js';
export * from './combine.js';
export * from './behavior.js';
export * from './schedules.js';
export * from './bounds.js';
export { observe, usable, type Observation } from './observe.js';
