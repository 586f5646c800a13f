import { DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { KeyAndCertificate } from '../tls/x509';
import { DeviceCertificateRepository } from './device-certificate.repository';
import { DeviceCertificateEntity } from './device-certificate.entity';
import { DEVICE_CA, DeviceCertificateAuthority } from './device-certificate-authority';
import { RevocationList } from './revocation-list';

/** Global: provisioning issues, decommissioning revokes, the broker checks revocations. */
@Global()
@Module({})
export class CertificatesModule {
  static forRoot(deviceCa: KeyAndCertificate | null): DynamicModule {
    return {
      module: CertificatesModule,
      imports: [TypeOrmModule.forFeature([DeviceCertificateEntity])],
      providers: [{ provide: DEVICE_CA, useValue: deviceCa }, DeviceCertificateRepository, RevocationList, DeviceCertificateAuthority],
      exports: [DeviceCertificateAuthority, RevocationList],
    };
  }
}
