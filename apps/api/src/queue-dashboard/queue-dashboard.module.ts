import { FastifyAdapter } from '@bull-board/fastify';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { BullBoardModule } from '@bull-board/nestjs';
import { Module } from '@nestjs/common';
import { QUEUE_NAMES } from '@molecule/jobs';
import { QueueDashboardGate } from './queue-dashboard.gate';

export const QUEUE_DASHBOARD_ROUTE = '/admin/queues';

/** bull-board over every queue, for the platform operator only. */
@Module({
  imports: [
    BullBoardModule.forRoot({ route: QUEUE_DASHBOARD_ROUTE, adapter: FastifyAdapter }),
    ...QUEUE_NAMES.map((name) => BullBoardModule.forFeature({ name, adapter: BullMQAdapter })),
  ],
  providers: [QueueDashboardGate],
})
export class QueueDashboardModule {}
