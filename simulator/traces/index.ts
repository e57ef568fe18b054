export * from './types.js';
export * from './rng.js';
export * from './lines.js';
export * from './readers.js';
export * from './sizes.js';
export * from './synthetic.js';
export * from './transform.js';
