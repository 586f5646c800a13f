// Jest runs TypeScript through SWC (type errors are caught by `npm run typecheck`).
// NestJS 12, @nestjs/typeorm 12 and aedes are ESM-only; Jest 30 on Node 20 cannot require()
// ESM, so those packages are transformed too (docs/architecture.md, "Measured facts").
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
  },
];

const common = {
  testEnvironment: '<rootDir>/test/support/flat-async-context-environment.js',
  transform: { '^.+\\.(t|j|mj)s$': swc },
  transformIgnorePatterns: ['/node_modules/(?!(@nestjs|file-type|load-esm|uid|aedes|aedes-[a-z-]+|mqemitter)/)'],
  moduleNameMapper: {
    '^@flotilla/shared$': '<rootDir>/shared/src/index.ts',
    '^@flotilla/shared/device$': '<rootDir>/shared/src/device.ts',
    '^@flotilla/shared/http-client$': '<rootDir>/shared/src/api/http-client.ts',
    '^@flotilla/cli/sim$': '<rootDir>/cli/src/sim/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  rootDir: __dirname,
};

module.exports = {
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  projects: [
    {
      ...common,
      displayName: 'unit',
      // No real clock in unit tests: timers and Date are Jest's fake ones, moved by the test.
      fakeTimers: { enableGlobally: true, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] },
      setupFiles: ['<rootDir>/test/support/unit-no-files.js'],
      testMatch: ['<rootDir>/{shared,agent,cli,control-plane}/src/**/*.test.ts', '<rootDir>/test/unit/**/*.test.ts'],
      testPathIgnorePatterns: ['\\.int\\.test\\.ts$'],
    },
    {
      ...common,
      displayName: 'integration',
      setupFilesAfterEnv: ['<rootDir>/test/support/real-servers-timeout.js'],
      testMatch: ['<rootDir>/{shared,agent,cli,control-plane}/src/**/*.int.test.ts', '<rootDir>/test/integration/**/*.test.ts'],
    },
    {
      ...common,
      displayName: 'e2e',
      setupFilesAfterEnv: ['<rootDir>/test/support/real-servers-timeout.js'],
      testMatch: ['<rootDir>/test/e2e/**/*.e2e.test.ts'],
    },
  ],
};
