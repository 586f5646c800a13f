import { CommandResultView, SendCommandRequest } from '../commands';
import { named, route } from '../route';

/** The routes of `control-plane/src/commands/commands.controller.ts`. */
export const COMMANDS_ROUTES = {
  send: route({
    method: 'post',
    path: '/api/v1/devices/:id/commands',
    tag: 'devices',
    summary: 'Send a command and wait for its result',
    description:
      'The command is signed for this device with the current signing key and holds only for `timeoutMs` ' +
      '(a device refuses it later, give or take 5 minutes of clock allowance), so a command delivered after ' +
      'the caller was told it timed out does not run. A `rollback` names the rev the device reports on trial ' +
      '(`args.rev`, unless given) and ends only that one.',
    access: 'operator',
    body: named('SendCommandRequest', SendCommandRequest),
    status: 200,
    response: named('CommandResultView', CommandResultView),
    errors: [
      {
        status: 409,
        description:
          'the device is offline (code `device_offline`); a `rollback` when it reports no update on trial (code `nothing_on_trial`)',
      },
      { status: 504, description: 'no answer within `timeoutMs` (code `command_timeout`)' },
    ],
  }),
};
