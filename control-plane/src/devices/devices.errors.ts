import { NotFoundError } from '../domain-error';

export class DeviceNotFoundError extends NotFoundError {
  constructor(id: string) {
    super('device_not_found', `no device with id ${id}`);
  }
}
