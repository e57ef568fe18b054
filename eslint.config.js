import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'reports/**', 'coverage/**', '**/*.generated.*'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // algorithms/ is the pure core: no I/O, no wall clock, no unseeded randomness.
    files: ['algorithms/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            'node:*',
            'fs',
            'http',
            'https',
            'net',
            '@kubernetes/*',
            'pino',
            '../src/*',
            '../simulator/*',
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'algorithms/ takes time as input' },
        { object: 'Math', property: 'random', message: 'algorithms/ takes a seeded RNG' },
        { object: 'performance', property: 'now', message: 'algorithms/ takes time as input' },
      ],
    },
  },
);
