import { AgentError } from '../support/errors';

export class ProvisioningFileError extends AgentError {
  readonly code = 'provisioning-file-invalid';
  constructor(path: string, detail: string) {
    super(
      `provisioning file ${path} is unusable: ${detail}; write a valid provisioning.json (schema 1, apiUrl, mqttUrl, token) to the boot partition`,
      {
        terminal: true,
      },
    );
  }
}

/** The control plane refused the registration (4xx): a bad, expired or used-up token. Retrying cannot help. */
export class RegistrationRejectedError extends AgentError {
  readonly code = 'registration-rejected';
  constructor(
    readonly status: number,
    serverMessage: string,
  ) {
    super(
      `the control plane refused to register this device (HTTP ${status}: ${serverMessage}); issue a new provisioning token and update provisioning.json`,
      {
        terminal: true,
      },
    );
  }
}

/** Registration did not get an answer it could use (network down, 5xx, malformed body); retried with backoff. */
export class RegistrationUnavailableError extends AgentError {
  readonly code = 'registration-unavailable';
  constructor(url: string, detail: string, cause?: unknown) {
    super(`could not register at ${url}: ${detail}; will retry`, { cause });
  }
}

export class CredentialFileError extends AgentError {
  readonly code = 'credential-file-invalid';
  constructor(path: string, detail: string) {
    super(
      `credential file ${path} is unreadable (${detail}); delete it and write a provisioning.json with a fresh token to register the device again`,
      { terminal: true },
    );
  }
}

/** The state dir could be written by someone else, who could then plant a credential or a key there. */
export class StateDirUnsafeError extends AgentError {
  readonly code = 'state-dir-unsafe';
  constructor(dir: string, detail: string) {
    super(
      `refusing the state directory ${dir}: ${detail}, so anyone could plant a credential or key in it; chown it to the agent's user and chmod 0700 it, then check its files`,
      { terminal: true },
    );
  }
}

/** An https:// address with no pinned CA: the agent trusts no system CA, so it cannot verify the control plane. */
export class PinnedCaMissingError extends AgentError {
  readonly code = 'pinned-ca-missing';
  constructor(url: string) {
    super(`refusing ${url}: no CA certificate is pinned for it; provisioning.json must carry caCertificates`, { terminal: true });
  }
}

/** The control plane refused to renew the device certificate (4xx): the device must be provisioned again. */
export class CertificateRenewalRefusedError extends AgentError {
  readonly code = 'certificate-renewal-refused';
  constructor(status: number, serverMessage: string) {
    super(`the control plane refused a new certificate (HTTP ${status}: ${serverMessage}); provision the device again`, {
      terminal: true,
    });
  }
}
