import {
  DeviceCertificateRequest,
  DeviceCertificateResponse,
  RegisterDeviceRequest,
  RegisterDeviceResponse,
} from '../../protocol/registration';
import { CreateProvisioningTokenRequest, ProvisioningTokenView } from '../dto';
import { named, route } from '../route';

/** The routes of `control-plane/src/provisioning/provisioning.controller.ts`. */
export const PROVISIONING_ROUTES = {
  createToken: route({
    method: 'post',
    path: '/api/v1/provisioning-tokens',
    tag: 'provisioning',
    summary: 'Create a provisioning token',
    description:
      "Devices registered with a token an operator (not an admin) made never receive stored registry logins, whatever their fleet's grants.",
    access: 'operator',
    body: named('CreateProvisioningTokenRequest', CreateProvisioningTokenRequest),
    status: 201,
    response: named('ProvisioningTokenView', ProvisioningTokenView),
    errors: [
      { status: 403, description: 'the fleet holds a registry login grant and the key is not an admin (code `granted_fleet_needs_admin`)' },
    ],
  }),
  createFleetToken: route({
    method: 'post',
    path: '/api/v1/fleets/:id/provisioning-tokens',
    tag: 'provisioning',
    summary: 'Create a provisioning token for a fleet',
    access: 'operator',
    body: named('CreateProvisioningTokenRequest', CreateProvisioningTokenRequest),
    status: 201,
    response: named('ProvisioningTokenView', ProvisioningTokenView),
    errors: [
      { status: 403, description: 'the fleet holds a registry login grant and the key is not an admin (code `granted_fleet_needs_admin`)' },
    ],
  }),
  revokeToken: route({
    method: 'delete',
    path: '/api/v1/provisioning-tokens/:id',
    tag: 'provisioning',
    summary: 'Revoke a provisioning token',
    access: 'operator',
    status: 200,
  }),
  register: route({
    method: 'post',
    path: '/api/v1/devices/register',
    tag: 'provisioning',
    summary: 'A device exchanges a provisioning token for its credential',
    access: 'public',
    body: named('RegisterDeviceRequest', RegisterDeviceRequest),
    status: 201,
    response: named('RegisterDeviceResponse', RegisterDeviceResponse),
  }),
  renewCertificate: route({
    method: 'post',
    path: '/api/v1/devices/certificate',
    tag: 'provisioning',
    summary: 'A device renews its client certificate, or moves from its password to a certificate',
    description:
      'The CSR is for the key of the certificate given as proof (renewal), or any key with the device password as proof (migration). The CSR signature proves the device holds the key.',
    access: 'public',
    body: named('DeviceCertificateRequest', DeviceCertificateRequest),
    status: 201,
    response: named('DeviceCertificateResponse', DeviceCertificateResponse),
  }),
};
