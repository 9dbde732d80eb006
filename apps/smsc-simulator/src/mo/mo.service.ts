import { Inject, Injectable, Logger } from '@nestjs/common';
import { SIMULATOR_CONFIG, type SimulatorConfig } from '../config';
import type { EsmeSession } from '../smpp/esme-session';
import { SessionRegistry } from '../smpp/session-registry';
import { SimulatorCounters } from '../state/counters';
import { RandomSource } from '../state/random-source';
import { buildMoSegments, type MoConcat, type MoEncoding, MoInputError, type MoSegment } from './mo-segments';

export interface MoRequest {
  /** The subscriber. */
  from: string;
  /** The service number. */
  to: string;
  text: string;
  /** Deliver to a receiver of this system; any bound receiver when absent. */
  systemId?: string;
  encoding?: MoEncoding;
  concat?: MoConcat;
  /** Send the segments last first. */
  outOfOrder?: boolean;
  /** 1-based number of a segment not to send, to test incomplete sets. */
  dropSegment?: number;
}

export interface MoResult {
  segments: number;
  delivered: true;
  /** Segment numbers in the order they were sent. */
  order: number[];
}

/** No receiver bind to deliver an MO to (answered 409). */
export class NoReceiverError extends Error {}

/** Wait before sending an MO segment the ESME did not accept again. */
const MO_RETRY_DELAY_MS = 1000;

/**
 * Injects a subscriber's message as deliver_sm (esm_class 0). All segments go to one session;
 * each is sent once, and the ESME's answers are only counted.
 */
@Injectable()
export class MoService {
  private readonly log = new Logger(MoService.name);
  private reference: number;

  constructor(
    @Inject(SIMULATOR_CONFIG) private readonly config: SimulatorConfig,
    private readonly registry: SessionRegistry,
    private readonly counters: SimulatorCounters,
    random: RandomSource,
  ) {
    this.reference = random.int(0x10000);
  }

  inject(req: MoRequest): MoResult {
    return this.send(this.prepare(req));
  }

  /** Several MO, in order; none is sent unless every one can be (encoded, a receiver bound). */
  injectAll(requests: MoRequest[]): MoResult[] {
    return requests.map((req) => this.prepare(req)).map((p) => this.send(p));
  }

  private prepare(req: MoRequest): { req: MoRequest; segments: MoSegment[]; session: EsmeSession } {
    const concat = req.concat ?? 'udh8';
    const segments = buildMoSegments(req.text, {
      encoding: req.encoding ?? 'auto',
      concat,
      reference: this.nextReference(concat),
    });
    if (req.dropSegment !== undefined && req.dropSegment > segments.length) {
      throw new MoInputError(`dropSegment ${req.dropSegment} but the message has ${segments.length} segment(s)`);
    }
    const session = this.registry.pickReceiver(req.systemId);
    if (!session) {
      throw new NoReceiverError(req.systemId ? `no receiver of system_id ${req.systemId} is bound` : 'no receiver is bound');
    }
    return { req, segments, session };
  }

  private send({ req, segments, session }: { req: MoRequest; segments: MoSegment[]; session: EsmeSession }): MoResult {
    const ordered = req.outOfOrder ? [...segments].reverse() : segments;
    const sent = ordered.filter((s) => s.seq !== req.dropSegment);
    for (const segment of sent) void this.deliver(req, segment, session, 1);
    this.counters.moSent(sent.length);
    this.log.log(`MO ${req.from} -> ${req.to}: ${sent.length}/${segments.length} segment(s) to ${session.systemId} session ${session.id}`);
    return { segments: segments.length, delivered: true, order: sent.map((s) => s.seq) };
  }

  /**
   * Sends one segment; like an SMSC, sends it again a second later when the ESME answers with an
   * error or not at all (SIM_RECEIPT_MAX_ATTEMPTS attempts in all), on whichever receiver of the
   * system is bound then. A connection closing is not an attempt, and the segment then waits for
   * a receiver to bind again.
   */
  private async deliver(req: MoRequest, segment: MoSegment, session: EsmeSession, attempt: number): Promise<void> {
    const outcome = await session.request('deliver_sm', deliverSmFields(req, segment), this.config.deliverResponseTimeoutMs);
    const ok = outcome.kind === 'response' && outcome.status === 0;
    if (outcome.kind !== 'closed') this.counters.moAnswered(ok);
    if (ok) return;
    const next = outcome.kind === 'closed' ? attempt : attempt + 1;
    if (next > this.config.receiptMaxAttempts) {
      this.log.warn(`MO ${req.from} -> ${req.to} segment ${segment.seq} dropped after ${attempt} attempts`);
      return;
    }
    this.retryLater(req, segment, next, outcome.kind === 'closed');
  }

  /**
   * Sends a segment again a second later on whichever receiver is bound then. One whose connection
   * closed waits for a receiver to bind, as an SMSC stores an MO until the ESME is back; after an
   * error answer or a timeout with no receiver bound it is dropped.
   */
  private retryLater(req: MoRequest, segment: MoSegment, attempt: number, waitForReceiver: boolean): void {
    setTimeout(() => {
      const receiver = this.registry.pickReceiver(req.systemId);
      if (receiver) void this.deliver(req, segment, receiver, attempt);
      else if (waitForReceiver) this.retryLater(req, segment, attempt, true);
      else this.log.warn(`MO ${req.from} -> ${req.to} segment ${segment.seq} dropped: no receiver is bound any more`);
    }, MO_RETRY_DELAY_MS).unref();
  }

  private nextReference(concat: MoConcat): number {
    this.reference = (this.reference + 1) & 0xffff;
    return concat === 'udh8' ? this.reference & 0xff : this.reference;
  }
}

/**
 * TON/NPI as operators usually send them: international E.164 for full numbers, unknown/ISDN for
 * short codes, alphanumeric for names.
 */
function addressFields(addr: string): { ton: number; npi: number; addr: string } {
  const digits = addr.replace(/^\+/, '');
  if (!/^\d+$/.test(digits)) return { ton: 5, npi: 0, addr };
  return addr.startsWith('+') || digits.length >= 10 ? { ton: 1, npi: 1, addr: digits } : { ton: 0, npi: 1, addr: digits };
}

function deliverSmFields(req: MoRequest, segment: MoSegment): Record<string, unknown> {
  const source = addressFields(req.from);
  const destination = addressFields(req.to);
  return {
    source_addr_ton: source.ton,
    source_addr_npi: source.npi,
    source_addr: source.addr,
    dest_addr_ton: destination.ton,
    dest_addr_npi: destination.npi,
    destination_addr: destination.addr,
    esm_class: segment.esmClass,
    data_coding: segment.dataCoding,
    short_message: segment.shortMessage,
    ...(segment.sar
      ? {
          sar_msg_ref_num: segment.sar.msgRefNum,
          sar_total_segments: segment.sar.totalSegments,
          sar_segment_seqnum: segment.sar.segmentSeqnum,
        }
      : {}),
  };
}
