#!/usr/bin/env node
import { config as zodConfig } from 'zod';
import { CLI_COMMANDS, runCli } from './cli/client';
import { readConfig, type AgentConfig } from './config';
import { runAgent } from './run-agent';
import { errorMessage, isTerminal } from './support/errors';
import { jsonLogger, type Logger } from './support/logger';

// zod compiles a parser per object schema on its first use (new Function): fast, and resident
// for good. The agent parses a few messages a minute; interpreted, they cost it nothing it notices.
zodConfig({ jitless: true });

/** Exit status for a configuration that no restart can fix (sysexits.h EX_CONFIG), so systemd can stop retrying. */
const EXIT_CONFIG = 78;

function fail(logger: Logger, err: unknown): never {
  const terminal = isTerminal(err);
  logger.error('fatal', {
    error: errorMessage(err),
    code: (err as { code?: string }).code,
    exitStatus: terminal ? EXIT_CONFIG : 1,
    // The service manager does not restart after 78 (RestartPreventExitStatus=78, cli/src/packaging/agent-unit.ts).
    ...(terminal ? { restart: 'not restarted: no restart can repair this; do what the error says, then start the agent again' } : {}),
  });
  process.exit(terminal ? EXIT_CONFIG : 1);
}

let config: AgentConfig;
try {
  config = readConfig(process.env);
} catch (err) {
  fail(jsonLogger(), err);
}
const command = process.argv[2];
if (command !== undefined && (CLI_COMMANDS as readonly string[]).includes(command)) {
  runCli(process.argv.slice(2), config.stateDir).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${errorMessage(err)}\n`);
      process.exit(1);
    },
  );
} else {
  const logger = jsonLogger({ level: config.logLevel });
  runAgent(config, logger).then(
    () => process.exit(0),
    (err: unknown) => fail(logger, err),
  );
}
