import { Body, Controller, Get, Headers, HttpCode, HttpStatus, Post, Query, Req, Res } from '@nestjs/common';
import { PathParam } from '../http/path-param';
import {
  CreateRolloutRequest,
  PageQuery,
  RolloutDevicesQuery,
  RolloutListQuery,
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

@Controller('api/v1/rollouts')
export class RolloutsController {
  constructor(
    private readonly rollouts: RolloutsService,
    private readonly planner: RolloutPlanService,
  ) {}

  /** 201 when created; 200 with the same rollout when an `Idempotency-Key` is replayed. */
  @Post()
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

  @Post('plan')
  @HttpCode(HttpStatus.OK)
  @NoAudit()
  plan(@Body(new ZodBodyPipe(RolloutPlanRequest)) body: RolloutPlanRequest): Promise<RolloutPlan> {
    return this.planner.plan(body);
  }

  @Get()
  list(
    @Query(new ZodQueryPipe(RolloutListQuery)) filter: RolloutListQuery,
    @Query(new ZodQueryPipe(PageQuery)) page: PageQuery,
  ): Promise<Page<RolloutView>> {
    return this.rollouts.list(filter, page);
  }

  @Get(':id')
  get(@PathParam('id', 'uuid') id: string): Promise<RolloutView> {
    return this.rollouts.get(id);
  }

  @Get(':id/devices')
  devices(
    @PathParam('id', 'uuid') id: string,
    @Query(new ZodQueryPipe(RolloutDevicesQuery)) filter: RolloutDevicesQuery,
    @Query(new ZodQueryPipe(PageQuery)) page: PageQuery,
  ): Promise<Page<RolloutDeviceView>> {
    return this.rollouts.devicesOf(id, filter, page);
  }

  @Post(':id/pause')
  @HttpCode(HttpStatus.OK)
  pause(@PathParam('id', 'uuid') id: string, @Actor() actor: OperatorPrincipal, @Req() req: OperatorRequest): Promise<RolloutView> {
    return this.run(id, 'pause', actor, req);
  }

  @Post(':id/resume')
  @HttpCode(HttpStatus.OK)
  resume(@PathParam('id', 'uuid') id: string, @Actor() actor: OperatorPrincipal, @Req() req: OperatorRequest): Promise<RolloutView> {
    return this.run(id, 'resume', actor, req);
  }

  @Post(':id/advance')
  @HttpCode(HttpStatus.OK)
  advance(@PathParam('id', 'uuid') id: string, @Actor() actor: OperatorPrincipal, @Req() req: OperatorRequest): Promise<RolloutView> {
    return this.run(id, 'advance', actor, req);
  }

  @Post(':id/abort')
  @HttpCode(HttpStatus.OK)
  abort(@PathParam('id', 'uuid') id: string, @Actor() actor: OperatorPrincipal, @Req() req: OperatorRequest): Promise<RolloutView> {
    return this.run(id, 'abort', actor, req);
  }

  @Post(':id/rollback')
  @HttpCode(HttpStatus.OK)
  rollback(@PathParam('id', 'uuid') id: string, @Actor() actor: OperatorPrincipal, @Req() req: OperatorRequest): Promise<RolloutView> {
    return this.run(id, 'rollback', actor, req);
  }

  /** The audit log gets the rollout before and after the command. */
  private async run(id: string, command: OperatorCommand, actor: OperatorPrincipal, req: OperatorRequest): Promise<RolloutView> {
    req.auditBefore = await this.rollouts.get(id);
    return this.rollouts.command(id, command, actor);
  }
}
