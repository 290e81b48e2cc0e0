import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // The API-server suites start real etcd + kube-apiserver processes: give them room,
    // and keep files from starting several control planes at once on a 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 2,
    minWorkers: 1,
  },
});
