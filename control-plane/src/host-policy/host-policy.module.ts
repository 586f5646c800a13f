import { Global, Module } from '@nestjs/common';
import { HostPolicyController } from './host-policy.controller';
import { HostPolicyRepository } from './host-policy.repository';
import { HostPolicyService } from './host-policy.service';

/** Global: fleets, devices and rollouts check releases against it wherever a release is bound. */
@Global()
@Module({
  controllers: [HostPolicyController],
  providers: [HostPolicyRepository, HostPolicyService],
  exports: [HostPolicyService],
})
export class HostPolicyModule {}
