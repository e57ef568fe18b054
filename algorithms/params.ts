/**
 * The one bridge between the pure core and the resolved configuration: the algorithms take the
 * parameter shapes that `src/api/resolved.ts` defines with zod, so a field is declared once.
 */
// Type-only re-export: erased at compile time, so no I/O, clock or Kubernetes code can reach
// algorithms/ through it. The lint rule forbids '../src/*' to keep runtime imports out.
// eslint-disable-next-line no-restricted-imports
export type {
  ApaParams,
  Behavior,
  KpaParams,
  Schedule,
  ScalingPolicy,
  ScalingRules,
} from '../src/api/resolved.js';
