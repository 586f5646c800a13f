import { CommandResultView, SendCommandRequest } from '../commands';
import { named, route } from '../route';

/** The routes of `control-plane/src/commands/commands.controller.ts`. */
export const COMMANDS_ROUTES = {
  send: route({
    method: 'post',
    path: '/api/v1/devices/:id/commands',
    tag: 'devices',
    summary: 'Send a command and wait for its result',
    access: 'operator',
    body: named('SendCommandRequest', SendCommandRequest),
    status: 200,
    response: named('CommandResultView', CommandResultView),
    errors: [
      { status: 409, description: 'the device is offline (code `device_offline`)' },
      { status: 504, description: 'no answer within `timeoutMs` (code `command_timeout`)' },
    ],
  }),
};
