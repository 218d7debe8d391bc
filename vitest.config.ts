import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // End-to-end suites start real processes and servers; two cores, so keep parallelism modest.
    maxWorkers: 2,
    pool: 'forks',
    // Quiet services: no per-call "rpc" lines from in-process servers or the
    // built CLI's children (they inherit this env); warnings and errors still
    // show. `INTERGRID_LOG_LEVEL=info npx vitest run …` brings them back. Tests
    // that read logs set their own level (docs/architecture.md "Operations").
    env: { INTERGRID_LOG_LEVEL: process.env.INTERGRID_LOG_LEVEL ?? 'warn' },
  },
});
