import { Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Startup } from '@smsgw/common';
import { CallbackLog } from './delivery/callback-log.service';
import { DlrProcessor } from './dlr/dlr.processor';
import { MoProcessor } from './mo/mo.processor';
import { MoReplyWriter } from './mo/mo-reply.service';
import { ParkedCallbacks } from './parking/parked-callbacks.service';
import { SmppWake } from './parking/smpp-wake.service';
import { PartnerSettings } from './partners/partner-settings.service';

/**
 * Start and stop order in one place. Start: once PostgreSQL and Redis answer (Startup), record
 * what the journal kept of a killed predecessor's acknowledged pushes, follow partner changes and SMPP binds, take `callback.dlr` and `callback.mo` jobs, run the sweep. Stop: no more
 * waiting; the workers stop in their own onModuleDestroy (docs/operator-guide.md, section 15).
 */
@Injectable()
export class CallbackLifecycle implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(
    private readonly startup: Startup,
    private readonly partners: PartnerSettings,
    private readonly dlr: DlrProcessor,
    private readonly mo: MoProcessor,
    private readonly parked: ParkedCallbacks,
    private readonly log: CallbackLog,
    private readonly replies: MoReplyWriter,
    private readonly wake: SmppWake,
  ) {}

  onApplicationBootstrap(): Promise<void> {
    return this.startup.begin(async () => {
      await this.log.open();
      await this.partners.start();
      await this.wake.start();
      await this.replies.open();
      await this.dlr.start();
      await this.mo.start();
      this.parked.start();
    });
  }

  onModuleDestroy(): Promise<void> {
    return this.startup.stop();
  }
}
