import { defineConfig } from 'vitest/config';

// Test files run one at a time: threaded tests start a busy driver/device pair that takes both of
// this machine's (and CI's) two cores; two pairs at once time-slice and crawl.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    // Hang bounds, not speed limits: a starved machine (CPU hogs beside the suite) stretches a
    // threaded test several times over.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
  },
});
