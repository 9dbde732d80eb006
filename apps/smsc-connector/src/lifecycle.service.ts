import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Startup } from '@smsgw/common';
import { CONNECTOR_CONFIG, type ConnectorConfig } from './config';
import { DispatchWorker } from './dispatch/dispatch.worker';
import { InboundService } from './inbound/inbound.service';
import { MoService } from './mo/mo.service';
import { ParkedReceiptMatcher } from './receipts/parked-receipt-matcher.service';
import { ReceiptDeadline } from './receipts/receipt-deadline.service';
import { SmscRegistry } from './smsc/smsc-registry.service';
import { TestOutcomeWorker } from './test-mode/test-outcome.worker';

/**
 * Start and stop order in one place.
 * Start: once PostgreSQL and Redis answer (Startup: until then /health says what is awaited and
 * nothing else happens), open the inbound journal (what an earlier run left is applied), bind the
 * SMSCs (bounded wait), then take jobs.
 * Stop (SIGTERM): messages still waiting for SMSC capacity go back to the queue (retried later,
 * by another instance or after the restart); take no more jobs and let those running finish their
 * submits (bounded), the messages of a batch not started yet each getting a single job at once
 * (past the bound, the batch's lock expires and the whole batch re-runs, harmlessly); unbind every SMSC once its outstanding submits are answered (bounded) and
 * the deliver_sm in hand are journaled; apply what the journal holds (bounded; the rest waits in
 * the journal for the next start); store the incomplete MO still held. The connections to
 * PostgreSQL and Redis close after this (InfraModule's onApplicationShutdown).
 */
@Injectable()
export class ConnectorLifecycle implements OnApplicationBootstrap, OnModuleDestroy, BeforeApplicationShutdown {
  private readonly log = new Logger(ConnectorLifecycle.name);

  constructor(
    @Inject(CONNECTOR_CONFIG) private readonly config: ConnectorConfig,
    private readonly startup: Startup,
    private readonly registry: SmscRegistry,
    private readonly dispatchWorker: DispatchWorker,
    private readonly testOutcomeWorker: TestOutcomeWorker,
    private readonly receiptDeadline: ReceiptDeadline,
    private readonly parkedReceipts: ParkedReceiptMatcher,
    private readonly mo: MoService,
    private readonly inbound: InboundService,
  ) {}

  onApplicationBootstrap(): Promise<void> {
    return this.startup.begin(async () => {
      await this.inbound.start();
      this.mo.start();
      await this.registry.start();
      this.dispatchWorker.start();
      this.testOutcomeWorker.start();
      this.receiptDeadline.start();
      this.parkedReceipts.start();
      this.log.log('taking mt.dispatch jobs');
    });
  }

  /** First of the stop hooks: a connector still waiting for PostgreSQL or Redis stops waiting. */
  onModuleDestroy(): Promise<void> {
    return this.startup.stop();
  }

  async beforeApplicationShutdown(): Promise<void> {
    const timeout = this.config.CONNECTOR_SHUTDOWN_TIMEOUT_MS;
    this.registry.refuseNewSubmits();
    await Promise.all([this.dispatchWorker.stop(timeout), this.testOutcomeWorker.stop(timeout), this.receiptDeadline.stop(), this.parkedReceipts.stop()]);
    await this.registry.stop(timeout);
    await this.inbound.stop(timeout);
    await this.mo.stop();
    await this.inbound.closeJournal();
    this.log.log('stopped');
  }
}
