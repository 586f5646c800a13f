import { SERVER_BUSY } from '@flotilla/shared';
import type { AuthenticateError, Client } from 'aedes';
import type { ConnectGuard } from '../limits/connect-guard';
import type { MqttRefusals } from '../limits/mqtt-refusals';
import { CONNACK } from './access-policy';
import { remoteAddressOf } from './sessions';

/** What a credential check concluded; `code` labels a refusal on `/metrics` and in the summary line. */
export type LoginOutcome =
  | { accepted: true }
  /** The client's failure: counted against its address; `unknownId` when no such device exists. */
  | { accepted: false; code: string; returnCode: number; message: string; unknownId?: string }
  /** The server's (a database error): not counted against the client. */
  | { accepted: false; unavailable: string };

export type LoginCheck = (
  client: Client,
  username: Readonly<string> | undefined,
  password: Readonly<Buffer> | undefined,
) => Promise<LoginOutcome>;

type AuthenticateHook = (
  client: Client,
  username: Readonly<string> | undefined,
  password: Readonly<Buffer> | undefined,
  done: (error: AuthenticateError | null, success: boolean | null) => void,
) => void;

/** Why the control plane is too busy for another login now, given the logins in flight; undefined: not busy. */
export type BusyCheck = (connectsInFlight: number) => string | undefined;

/**
 * The aedes `authenticate` hook around any credential check: refuses before the check (so before
 * any database query) an address that keeps failing and an id known not to exist, and every
 * login while the control plane is busy ("server busy": CONNACK 3, whose retry delay the device
 * knows from SERVER_BUSY); afterwards counts a failure against the address and remembers an
 * unknown id. Every refusal is counted and logged through MqttRefusals (one summary line per
 * interval), never a line each. A check not settled within `maxWaitMs` is answered "server
 * unavailable" (the device comes back later); its late outcome is dropped: aedes runs no timer
 * between CONNECT and CONNACK, so a hung check would hold the connection for good.
 */
export function limitLogins(
  guard: ConnectGuard,
  refusals: MqttRefusals,
  check: LoginCheck,
  busy: BusyCheck = () => undefined,
  maxWaitMs = Number.POSITIVE_INFINITY,
): AuthenticateHook {
  let inFlight = 0;
  return (client, username, password, answer) => {
    const address = remoteAddressOf(client);
    let answered = false;
    let timer: NodeJS.Timeout | undefined;
    const done: typeof answer = (error, success) => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      inFlight--;
      answer(error, success);
    };
    inFlight++;
    const refuse = (code: string, returnCode: number, message: string): void => {
      refusals.login(code, address);
      done(authError(returnCode, message), false);
    };
    const overloaded = busy(inFlight - 1);
    // Not counted against the address: the device did nothing wrong.
    if (overloaded) return refuse('server-busy', SERVER_BUSY.connackReturnCode, `server busy: ${overloaded}`);
    const precheck = guard.precheck(client.id, address, Date.now());
    if (precheck === 'throttled') return refuse('throttled', CONNACK.SERVER_UNAVAILABLE, 'too many failed logins; try later');
    if (precheck === 'unknown-id') {
      guard.failed(address, Date.now());
      return refuse('unknown-id-cached', CONNACK.BAD_USERNAME_OR_PASSWORD, 'bad username or password');
    }
    if (Number.isFinite(maxWaitMs)) {
      timer = setTimeout(() => {
        refusals.login('login-timeout', address, `no answer to the credential check within ${maxWaitMs} ms`);
        done(authError(CONNACK.SERVER_UNAVAILABLE, 'server unavailable'), false);
      }, maxWaitMs);
    }
    check(client, username, password).then(
      (outcome) => {
        if (answered) return;
        if (outcome.accepted) return done(null, true);
        if ('unavailable' in outcome) {
          refusals.login('server-unavailable', address, outcome.unavailable);
          return done(authError(CONNACK.SERVER_UNAVAILABLE, 'server unavailable'), false);
        }
        guard.failed(address, Date.now(), outcome.unknownId);
        refuse(outcome.code, outcome.returnCode, outcome.message);
      },
      (e: Error) => {
        if (answered) return;
        refusals.login('server-unavailable', address, e.message);
        done(authError(CONNACK.SERVER_UNAVAILABLE, 'server unavailable'), false);
      },
    );
  };
}

function authError(returnCode: number, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}
