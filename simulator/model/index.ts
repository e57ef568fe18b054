export * from './hardware.js';
export * from './roofline.js';
export * from './histogram.js';
export * from './exposition.js';
export * from './metrics.js';
export * from './kv-cache.js';
export * from './replica.js';
export * from './cold-start.js';
