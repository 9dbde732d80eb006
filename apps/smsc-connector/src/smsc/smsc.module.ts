import { Module } from '@nestjs/common';
import { READINESS_CHECKS, type HealthCheck } from '@smsgw/common';
import { InboundService } from '../inbound/inbound.service';
import { MessagesModule } from '../messages/messages.module';
import { MoModule } from '../mo/mo.module';
import { ReceiptsModule } from '../receipts/receipts.module';
import { ConnectionsController } from './connections.controller';
import { SmscRegistry } from './smsc-registry.service';

/** The SMPP side: connections to the SMSCs and what arrives on them. */
@Module({
  imports: [ReceiptsModule, MoModule, MessagesModule],
  controllers: [ConnectionsController],
  providers: [
    SmscRegistry,
    InboundService,
    {
      // Ready to send: with SMSC connections configured, at least one is bound (one SMSC down is a
      // failover, not a reason to take the instance out; every one down is).
      provide: READINESS_CHECKS,
      inject: [SmscRegistry],
      useFactory: (registry: SmscRegistry): HealthCheck[] => [
        {
          name: 'smsc',
          label: 'SMSC binds',
          check: async () => {
            const links = registry.states();
            if (links.length > 0 && !links.some((l) => l.bound)) throw new Error(`none of the ${links.length} SMSC connections is bound`);
          },
        },
      ],
    },
  ],
  exports: [SmscRegistry, InboundService, READINESS_CHECKS],
})
export class SmscModule {}
