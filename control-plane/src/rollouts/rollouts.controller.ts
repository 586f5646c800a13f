import { ROLLOUTS_ROUTES } from '@flotilla/shared';
import { ApiEndpoint } from '../http/api-endpoint.decorator';
import { Body, Controller, Headers, HttpStatus, Query, Req, Res } from '@nestjs/common';
import { PathParam } from '../http/path-param';
import {
  CreateRolloutRequest,
  type PageQuery,
  type RolloutDevicesQuery,
  type RolloutListQuery,
  RolloutPlanRequest,
  type Page,
  type RolloutDeviceView,
  type RolloutPlan,
  type RolloutView,
} from '@flotilla/shared';
import { NoAudit } from '../audit/no-audit.decorator';
import { Actor } from '../auth/actor.decorator';
import type { OperatorPrincipal, OperatorRequest } from '../auth/operator-principal';
import { idempotencyKey } from '../http/idempotency';
import { ZodBodyPipe } from '../http/zod-body.pipe';
import { ZodQueryPipe } from '../http/zod-query.pipe';
import type { OperatorCommand } from './operator-commands';
import { RolloutPlanService } from './rollout-plan.service';
import { RolloutsService } from './rollouts.service';

@Controller()
export class RolloutsController {
  constructor(
    private readonly rollouts: RolloutsService,
    private readonly planner: RolloutPlanService,
  ) {}

  /** 201 when created; 200 with the same rollout when an `Idempotency-Key` is replayed. */
  @ApiEndpoint(ROLLOUTS_ROUTES.create)
  async create(
    @Body(new ZodBodyPipe(CreateRolloutRequest)) body: CreateRolloutRequest,
    @Headers('idempotency-key') idempotencyHeader: string | undefined,
    @Actor() actor: OperatorPrincipal,
    @Res({ passthrough: true }) res: { status(code: number): unknown },
  ): Promise<RolloutView> {
    const outcome = await this.rollouts.create(body, actor, idempotencyKey(idempotencyHeader));
    res.status(outcome.status === 'created' ? HttpStatus.CREATED : HttpStatus.OK);
    return outcome.rollout;
  }

  @ApiEndpoint(ROLLOUTS_ROUTES.plan)
  @NoAudit()
  plan(@Body(new ZodBodyPipe(RolloutPlanRequest)) body: RolloutPlanRequest): Promise<RolloutPlan> {
    return this.planner.plan(body);
  }

  @ApiEndpoint(ROLLOUTS_ROUTES.list)
  list(@Query(new ZodQueryPipe(ROLLOUTS_ROUTES.list.query)) query: RolloutListQuery & PageQuery): Promise<Page<RolloutView>> {
    const { limit, cursor, ...filter } = query;
    return this.rollouts.list(filter, { limit, cursor });
  }

  @ApiEndpoint(ROLLOUTS_ROUTES.get)
  get(@PathParam('id', 'uuid') id: string): Promise<RolloutView> {
    return this.rollouts.get(id);
  }

  @ApiEndpoint(ROLLOUTS_ROUTES.devices)
  devices(
    @PathParam('id', 'uuid') id: string,
    @Query(new ZodQueryPipe(ROLLOUTS_ROUTES.devices.query)) query: RolloutDevicesQuery & PageQuery,
  ): Promise<Page<RolloutDeviceView>> {
    const { limit, cursor, ...filter } = query;
    return this.rollouts.devicesOf(id, filter, { limit, cursor });
  }

  @ApiEndpoint(ROLLOUTS_ROUTES.pause)
  pause(@PathParam('id', 'uuid') id: string, @Actor() actor: OperatorPrincipal, @Req() req: OperatorRequest): Promise<RolloutView> {
    return this.run(id, 'pause', actor, req);
  }

  @ApiEndpoint(ROLLOUTS_ROUTES.resume)
  resume(@PathParam('id', 'uuid') id: string, @Actor() actor: OperatorPrincipal, @Req() req: OperatorRequest): Promise<RolloutView> {
    return this.run(id, 'resume', actor, req);
  }

  @ApiEndpoint(ROLLOUTS_ROUTES.advance)
  advance(@PathParam('id', 'uuid') id: string, @Actor() actor: OperatorPrincipal, @Req() req: OperatorRequest): Promise<RolloutView> {
    return this.run(id, 'advance', actor, req);
  }

  @ApiEndpoint(ROLLOUTS_ROUTES.abort)
  abort(@PathParam('id', 'uuid') id: string, @Actor() actor: OperatorPrincipal, @Req() req: OperatorRequest): Promise<RolloutView> {
    return this.run(id, 'abort', actor, req);
  }

  @ApiEndpoint(ROLLOUTS_ROUTES.rollback)
  rollback(@PathParam('id', 'uuid') id: string, @Actor() actor: OperatorPrincipal, @Req() req: OperatorRequest): Promise<RolloutView> {
    return this.run(id, 'rollback', actor, req);
  }

  /** The audit log gets the rollout before and after the command. */
  private async run(id: string, command: OperatorCommand, actor: OperatorPrincipal, req: OperatorRequest): Promise<RolloutView> {
    req.auditBefore = await this.rollouts.get(id);
    return this.rollouts.command(id, command, actor);
  }
}
