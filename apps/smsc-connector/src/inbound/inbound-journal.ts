import * as path from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { databaseName, Journal, type JournalEntry } from '@smsgw/common';
import type { MoSegment, ReceiptInfo } from '@smsgw/sms';
import { CONNECTOR_CONFIG, type ConnectorConfig } from '../config';

/** A receipt as journaled: its dates as ISO strings. */
export type JournaledReceipt = Omit<ReceiptInfo, 'doneAt' | 'submitDate'> & { doneAt?: string; submitDate?: string };

/** What a deliver_sm (or a submit_sm_resp) asks the platform to store, as the connector journals it. */
export type InboundRecord =
  | { kind: 'receipt'; smscConnectionId: number; connectionName: string; receipt: JournaledReceipt }
  | { kind: 'mo'; smscConnectionId: number; connectionName: string; msisdn: string; serviceNumber: string; segment: MoSegment }
  /** A segment the SMSC accepted whose record PostgreSQL refused: recorded from the journal instead of being sent again. */
  | { kind: 'part'; messageId: string; seq: number; smscConnectionId: number; smscMessageId: string };

/**
 * The connector's local journal of receipts and MO (see `Journal`): a deliver_sm is answered
 * once its record is on the connector's disk, and applied to PostgreSQL from there, so the SMSC
 * never has to resend because the database is away. One directory per connector instance.
 */
@Injectable()
export class InboundJournal {
  private readonly log = new Logger(InboundJournal.name);
  private journal: Journal<InboundRecord> | null = null;

  constructor(@Inject(CONNECTOR_CONFIG) private readonly config: ConnectorConfig) {}

  /** Opens the directory; returns what the last process left unapplied, in arrival order. */
  async open(): Promise<Array<JournalEntry<InboundRecord>>> {
    const { journal, unfinished } = await Journal.open<InboundRecord>({ dir: journalDir(this.config), name: 'inbound' });
    this.journal = journal;
    if (unfinished.length > 0) this.log.warn(`${unfinished.length} receipt(s) and MO journaled by an earlier run are not applied yet: applying them`);
    return unfinished;
  }

  /** Resolves once the record is on disk. */
  append(record: InboundRecord): Promise<string> {
    if (!this.journal) return Promise.reject(new Error('inbound journal not open'));
    return this.journal.append(record);
  }

  done(ids: string[]): void {
    this.journal?.done(ids);
  }

  /** Records not applied yet. */
  get pending(): number {
    return this.journal?.pending ?? 0;
  }

  async close(): Promise<void> {
    const left = this.pending;
    await this.journal?.close();
    this.journal = null;
    if (left > 0) this.log.warn(`${left} receipt(s) and MO stay in the journal for the next start`);
  }
}

/**
 * `<database>/smsc-connector` under CONNECTOR_JOURNAL_DIR: records are applied only to the
 * database they came for, even when one machine runs connectors for several.
 */
export function journalDir(config: Pick<ConnectorConfig, 'CONNECTOR_JOURNAL_DIR' | 'DATABASE_URL'>): string {
  return path.join(config.CONNECTOR_JOURNAL_DIR, databaseName(config.DATABASE_URL), 'smsc-connector');
}

export function receiptFromJournal(r: JournaledReceipt): ReceiptInfo {
  const { doneAt, submitDate, ...rest } = r;
  return {
    ...rest,
    ...(doneAt === undefined ? {} : { doneAt: new Date(doneAt) }),
    ...(submitDate === undefined ? {} : { submitDate: new Date(submitDate) }),
  };
}

export function receiptForJournal(r: ReceiptInfo): JournaledReceipt {
  const { doneAt, submitDate, ...rest } = r;
  return {
    ...rest,
    ...(doneAt === undefined ? {} : { doneAt: doneAt.toISOString() }),
    ...(submitDate === undefined ? {} : { submitDate: submitDate.toISOString() }),
  };
}
