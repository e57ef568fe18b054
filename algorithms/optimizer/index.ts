/** The heterogeneous-GPU optimizer's pure core: grids, profiles, workloads, formulation, check. */
export * from './grid.js';
export * from './profile.js';
export * from './workload.js';
export * from './histograms.js';
export * from './problem.js';
export * from './milp.js';
export * from './check.js';
export * from './rounding.js';
export * from './branch.js';
export * from './optimize.js';
export * from './group.js';
