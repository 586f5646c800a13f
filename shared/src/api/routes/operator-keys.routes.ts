import { CreateOperatorKeyRequest, CreatedOperatorKey, OperatorKeyView } from '../operators';
import { named, route } from '../route';

/** The routes of `control-plane/src/auth/operator-keys.controller.ts`. */
export const OPERATOR_KEYS_ROUTES = {
  create: route({
    method: 'post',
    path: '/api/v1/operators/keys',
    tag: 'operators',
    summary: 'Create an API key (shown once)',
    access: 'admin',
    body: named('CreateOperatorKeyRequest', CreateOperatorKeyRequest),
    status: 201,
    response: named('CreatedOperatorKey', CreatedOperatorKey),
  }),
  list: route({
    method: 'get',
    path: '/api/v1/operators/keys',
    tag: 'operators',
    summary: 'List active API keys',
    access: 'admin',
    status: 200,
    response: named('OperatorKeyList', OperatorKeyView.array()),
  }),
  revoke: route({
    method: 'delete',
    path: '/api/v1/operators/keys/:id',
    tag: 'operators',
    summary: 'Revoke an API key',
    access: 'admin',
    status: 200,
    response: named('OperatorKeyView', OperatorKeyView),
  }),
};
