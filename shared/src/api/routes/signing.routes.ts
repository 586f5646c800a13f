import { SigningKeysView } from '../signing-keys';
import { named, route } from '../route';

/** The routes of `control-plane/src/signing/signing.controller.ts`. */
export const SIGNING_ROUTES = {
  list: route({
    method: 'get',
    path: '/api/v1/signing-keys',
    tag: 'releases',
    summary: 'Release signing keys',
    access: 'viewer',
    status: 200,
    response: named('SigningKeysView', SigningKeysView),
  }),
  rotate: route({
    method: 'post',
    path: '/api/v1/signing-keys/rotate',
    tag: 'releases',
    summary: 'Rotate the release signing key',
    description:
      'The new key signs releases and desired states from now on, endorsed by each key within the horizon (`horizon` rotations). Every `desired` carries those endorsements, so a device that missed up to `horizon` rotations learns the new key from a key it already trusts. Admin only, as revoking is: more than `horizon` rotations in a row cut every device that was away meanwhile off the key chain (it must be provisioned again).',
    access: 'admin',
    status: 200,
    response: named('SigningKeysView', SigningKeysView),
  }),
  revoke: route({
    method: 'post',
    path: '/api/v1/signing-keys/:id/revoke',
    tag: 'releases',
    summary: 'Revoke a signing key',
    description:
      'Destroys the private key and tells every device, in each `desired` from now on, to stop trusting it. Revoking the current key first rotates to a new one, endorsed by the other keys within the horizon.',
    access: 'admin',
    status: 200,
    response: named('SigningKeysView', SigningKeysView),
  }),
};
