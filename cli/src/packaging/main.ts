#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { bundleAgent } from '../images/agent-bundle';
import { buildAgentDeb } from './build-agent-deb';

/**
 * `npm run package [-- --out DIR]`: flotilla-agent_<version>_{arm64,amd64}.deb in DIR
 * (default packages/), offline, from the built agent (npm run build first). The version is
 * the agent's package.json version.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string', default: 'packages' } } });
  const agentPackage = join(__dirname, '..', '..', '..', 'agent', 'package.json');
  const version = (JSON.parse(readFileSync(agentPackage, 'utf8')) as { version: string }).version;
  const agent = await bundleAgent();
  for (const arch of ['arm64', 'amd64'] as const) {
    console.log(await buildAgentDeb({ version, arch, outDir: resolve(values.out!), agent }));
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
