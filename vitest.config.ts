import { defineConfig } from 'vitest/config';

// One runner for every workspace. `lantern-source` resolves workspace packages to their TypeScript
// sources, so tests never depend on a stale build. The CLI and browser tests run the built product
// (`npm test` builds first), as a user would.
const conditions = ['lantern-source'];

const project = (name: string, include: string[], extra: { testTimeout?: number } = {}) => ({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    name,
    include,
    environment: 'node',
    testTimeout: extra.testTimeout ?? 30_000,
    hookTimeout: 60_000,
    // expect.poll gives up after 1 s by default: a sign-in or a page load on a loaded machine (CI
    // on 2 busy cores) takes longer. Waiting longer for what must happen asserts nothing on time.
    expect: { poll: { timeout: 15_000 } },
  },
});

export default defineConfig({
  test: {
    projects: [
      project('core', ['packages/core/src/**/*.test.ts']),
      project('formats', ['packages/formats/src/**/*.test.ts']),
      project('synth', ['packages/synth/src/**/*.test.ts'], { testTimeout: 60_000 }),
      project('deid', ['packages/deid/src/**/*.test.ts'], { testTimeout: 60_000 }),
      project('sdk', ['packages/sdk/src/**/*.test.ts']),
      project('server', ['apps/server/src/**/*.test.ts']),
      project('cli', ['apps/cli/src/**/*.test.ts'], { testTimeout: 60_000 }),
      project('web', ['apps/web/src/**/*.test.ts', 'apps/web/e2e/**/*.test.ts'], {
        testTimeout: 60_000,
      }),
    ],
  },
});
