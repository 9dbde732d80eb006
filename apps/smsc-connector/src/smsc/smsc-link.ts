import { Logger } from '@nestjs/common';
import type { PDU } from 'smpp';
import { mapSubmitError } from '@smsgw/sms';
import { abortableSleep, backoffDelay } from '../backoff';
import type { ConnectorConfig } from '../config';
import { TemporaryError } from '../errors';
import { connectorMetrics } from '../metrics';
import { type BindCommand, ESME_ROK, SmppSession } from '../smpp/smpp-session';
import { ResendGuard } from './resend-guard';
import { SubmitCapacity, type SubmitSlot } from './submit-capacity';

/** A row of `smsc_connection`, as the connector reads it. */
export interface SmscConnectionRow {
  id: number;
  name: string;
  host: string;
  port: number;
  system_id: string;
  password: string;
  system_type: string;
  bind_mode: 'transceiver' | 'transmitter_receiver';
  tps: number;
  window: number;
  /** msisdn prefixes; empty (or null) = every number. */
  routes: string[] | null;
  priority: number;
  enabled: boolean;
}

/** What became of one submit_sm. */
export type SubmitResult =
  | { kind: 'accepted'; smscMessageId: string }
  /** A command_status: the SMSC did not take the segment. */
  | { kind: 'rejected'; commandStatus: number }
  /** No answer: `unsent` was never written (not taken for sure); after `timeout` or `closed` the SMSC may have it. */
  | { kind: 'unanswered'; reason: 'timeout' | 'closed' | 'unsent' };

const ESME_RTHROTTLED = 0x58;

interface Role {
  name: 'transceiver' | 'transmitter' | 'receiver';
  bind: BindCommand;
  transmits: boolean;
  session: SmppSession | null;
  sleep: { abort(): void } | null;
  loop: Promise<void> | null;
}

/**
 * A deliver_sm answered this long before the link broke may have lost its answer with it (bytes in
 * flight, in buffers of the network or the SMSC): expected back once (ResendGuard).
 */
const UNCONFIRMED_MS = 5000;

export interface LinkDeps {
  config: ConnectorConfig;
  /** Handles a deliver_sm that came on this connection; resolves with the command_status to answer. */
  onDeliverSm(link: SmscLink, pdu: PDU): Promise<number>;
}

/** Snapshot for /connections. */
export interface LinkState {
  id: number;
  name: string;
  bindMode: SmscConnectionRow['bind_mode'];
  sessions: Record<string, 'bound' | 'down'>;
  bound: boolean;
  window: number;
  outstanding: number;
  waiting: number;
  tps: number;
  routes: string[];
  priority: number;
}

/**
 * One `smsc_connection`: its bind(s), kept up with reconnects (exponential backoff with jitter),
 * and the window and TPS limit every submit on it goes through. A transceiver connection has one
 * session; `transmitter_receiver` has a transmitter (submits) and a receiver (receipts, MO).
 */
export class SmscLink {
  private readonly log: Logger;
  private readonly roles: Role[];
  private readonly capacity: SubmitCapacity;
  private stopping = false;
  /** Shutting down: submits already holding a slot finish, nobody gets a new one. */
  private refusing = false;
  private firstAttempt: Promise<void>;
  private firstAttemptDone: () => void = () => undefined;
  private readonly resends: ResendGuard;

  constructor(
    private row: SmscConnectionRow,
    private readonly deps: LinkDeps,
  ) {
    this.log = new Logger(`SmscLink ${row.name}`);
    this.capacity = new SubmitCapacity(row.window, row.tps);
    this.resends = new ResendGuard(deps.config.CONNECTOR_RESEND_MATCH_MS);
    const role = (name: Role['name'], transmits: boolean): Role => ({ name, bind: `bind_${name}`, transmits, session: null, sleep: null, loop: null });
    this.roles = row.bind_mode === 'transceiver' ? [role('transceiver', true)] : [role('transmitter', true), role('receiver', false)];
    this.firstAttempt = new Promise((resolve) => (this.firstAttemptDone = resolve));
  }

  get id(): number {
    return this.row.id;
  }

  get name(): string {
    return this.row.name;
  }

  get priority(): number {
    return this.row.priority;
  }

  /** Submits can go out: the transmitting session is bound. */
  get bound(): boolean {
    return this.transmitter()?.bound ?? false;
  }

  /** Starts binding; `firstBindAttempt` tells when the transmitting session's first try is over. */
  start(): void {
    connectorMetrics.bound.set({ connection: this.name }, 0);
    for (const role of this.roles) role.loop = this.maintain(role);
  }

  get firstBindAttempt(): Promise<void> {
    return this.firstAttempt;
  }

  /** True when the msisdn starts with one of the connection's route prefixes, or it has none. */
  serves(msisdn: string): boolean {
    const routes = this.row.routes ?? [];
    return routes.length === 0 || routes.some((prefix) => msisdn.startsWith(prefix.replace(/^\+/, '')));
  }

  /** Whether a changed row can be applied in place (limits, routes, priority) or needs a new bind. */
  needsRebind(next: SmscConnectionRow): boolean {
    const r = this.row;
    return (
      r.host !== next.host ||
      r.port !== next.port ||
      r.system_id !== next.system_id ||
      r.password !== next.password ||
      r.system_type !== next.system_type ||
      r.bind_mode !== next.bind_mode
    );
  }

  update(next: SmscConnectionRow): void {
    this.row = next;
    this.capacity.resize(next.window, next.tps);
  }

  /**
   * Waits for a window slot and a TPS token (higher message priority first). Rejects with a
   * TemporaryError when the bind is lost meanwhile, the connection stops, or nothing frees up in
   * the submit timeout. `continuing`: the message has segments out already; a shutdown lets it
   * finish rather than leave the handset with half a message.
   */
  async acquire(priority: number, continuing = false): Promise<SubmitSlot> {
    if (this.refusing && !continuing) throw new TemporaryError(`${this.name} is shutting down`, 'shutdown');
    if (!this.bound) throw new TemporaryError(`${this.name} is not bound`, 'not_bound');
    const slot = await this.capacity.acquire(
      priority,
      this.deps.config.CONNECTOR_SUBMIT_TIMEOUT_MS,
      () => new TemporaryError(`${this.name}: no window slot within ${this.deps.config.CONNECTOR_SUBMIT_TIMEOUT_MS} ms`, 'window_full'),
      continuing,
    );
    connectorMetrics.outstanding.set({ connection: this.name }, this.capacity.outstanding);
    return slot;
  }

  /** Sends one submit_sm holding `slot`, which it releases when the submit is over. */
  async submit(slot: SubmitSlot, fields: Record<string, unknown>): Promise<SubmitResult> {
    try {
      const session = this.transmitter();
      if (!session?.bound) return this.count({ kind: 'unanswered', reason: 'unsent' });
      const outcome = await session.request('submit_sm', fields);
      if (outcome.kind !== 'response') return this.count({ kind: 'unanswered', reason: outcome.kind });
      const status = outcome.pdu.command_status;
      if (status !== 0) {
        if (status === ESME_RTHROTTLED) this.capacity.pauseFor(this.deps.config.CONNECTOR_THROTTLE_PAUSE_MS);
        return this.count({ kind: 'rejected', commandStatus: status });
      }
      return this.count({ kind: 'accepted', smscMessageId: String(outcome.pdu.message_id ?? '') });
    } finally {
      slot.release();
      connectorMetrics.outstanding.set({ connection: this.name }, this.capacity.outstanding);
    }
  }

  state(): LinkState {
    return {
      id: this.id,
      name: this.name,
      bindMode: this.row.bind_mode,
      sessions: Object.fromEntries(this.roles.map((r) => [r.name, r.session?.bound ? 'bound' : 'down'])),
      bound: this.bound,
      window: this.row.window,
      outstanding: this.capacity.outstanding,
      waiting: this.capacity.waiting,
      tps: this.row.tps,
      routes: this.row.routes ?? [],
      priority: this.row.priority,
    };
  }

  /**
   * First step of a shutdown: messages waiting for a slot give up now (and are retried, by
   * another instance or after the restart) instead of holding the shutdown until they get one;
   * those with segments out already go on.
   */
  refuseNewSubmits(): void {
    this.refusing = true;
    this.capacity.rejectWaiters(new TemporaryError(`${this.name} is shutting down`, 'shutdown'), false);
  }

  /**
   * Stops for good: no new submits, waits (at most `timeoutMs`) for the answers to those sent,
   * unbinds every session and waits for the deliver_sm being stored to be answered.
   */
  async stop(timeoutMs: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.refusing = true;
    this.capacity.rejectWaiters(new TemporaryError(`${this.name} is shutting down`, 'shutdown'));
    const waited = abortableSleep(timeoutMs);
    await Promise.race([this.capacity.idle(), waited.done]);
    waited.abort();
    for (const role of this.roles) role.sleep?.abort();
    await Promise.all(
      this.roles.map(async (role) => {
        const session = role.session;
        if (session) {
          await session.unbind();
          await session.drainInbound();
        }
        await role.loop;
      }),
    );
    connectorMetrics.bound.set({ connection: this.name }, 0);
    this.firstAttemptDone();
  }

  private transmitter(): SmppSession | null {
    return this.roles.find((r) => r.transmits)?.session ?? null;
  }

  private refreshBoundGauge(): void {
    connectorMetrics.bound.set({ connection: this.name }, this.roles.every((r) => r.session?.bound) ? 1 : 0);
  }

  /** Keeps one session of the connection bound until `stop`. */
  private async maintain(role: Role): Promise<void> {
    const { config } = this.deps;
    let failures = 0;
    while (!this.stopping) {
      try {
        const session = await SmppSession.open({
          host: this.row.host,
          port: this.row.port,
          bind: role.bind,
          systemId: this.row.system_id,
          password: this.row.password,
          systemType: this.row.system_type,
          timeoutMs: config.CONNECTOR_SUBMIT_TIMEOUT_MS,
          enquireLinkMs: config.CONNECTOR_ENQUIRE_LINK_MS,
          label: `${this.name}/${role.name}`,
          onDeliverSm: (pdu) => this.onDeliverSm(pdu),
          onUnconfirmed: config.CONNECTOR_RESEND_MATCH_MS > 0 ? (pdus) => this.resends.expect(pdus) : undefined,
          unconfirmedMs: UNCONFIRMED_MS,
        });
        connectorMetrics.binds.inc({ connection: this.name, outcome: 'bound' });
        if (this.stopping) {
          await session.unbind();
          break;
        }
        role.session = session;
        failures = 0;
        this.refreshBoundGauge();
        this.log.log(`${role.name} bound to ${this.row.host}:${this.row.port} as ${this.row.system_id}`);
        if (role.transmits) this.firstAttemptDone();
        await session.closed;
        role.session = null;
        this.refreshBoundGauge();
        // Jobs waiting for this bind retry, possibly on another connection (failover).
        if (role.transmits) this.capacity.rejectWaiters(new TemporaryError(`${this.name}: bind lost`, 'not_bound'));
        if (!this.stopping) this.log.warn(`${role.name} session lost; rebinding`);
      } catch (e) {
        connectorMetrics.binds.inc({ connection: this.name, outcome: 'failed' });
        if (role.transmits) this.firstAttemptDone();
        if (!this.stopping) this.log.warn(`${role.name} bind to ${this.row.host}:${this.row.port} failed: ${(e as Error).message}`);
      }
      if (this.stopping) break;
      const sleep = abortableSleep(backoffDelay(failures++, config.CONNECTOR_RECONNECT_BASE_MS, config.CONNECTOR_RECONNECT_MAX_MS));
      role.sleep = sleep;
      await sleep.done;
      role.sleep = null;
    }
  }

  /** A deliver_sm, unless it is the SMSC's resend of one answered before a link loss (see ResendGuard). */
  private onDeliverSm(pdu: PDU): Promise<number> {
    if (this.resends.isResend(pdu)) {
      connectorMetrics.resendsIgnored.inc({ connection: this.name });
      this.log.warn(
        `deliver_sm from ${String(pdu.source_addr)} to ${String(pdu.destination_addr)} repeats one answered just before the link was lost: taken as the SMSC's resend, answered OK, not stored again`,
      );
      return Promise.resolve(ESME_ROK);
    }
    return this.deps.onDeliverSm(this, pdu);
  }

  private count(result: SubmitResult): SubmitResult {
    connectorMetrics.submits.inc({ connection: this.name, result: resultLabel(result) });
    return result;
  }
}

function resultLabel(r: SubmitResult): string {
  switch (r.kind) {
    case 'accepted':
      return 'accepted';
    case 'rejected':
      if (r.commandStatus === ESME_RTHROTTLED) return 'throttled';
      return mapSubmitError(r.commandStatus).kind === 'temporary' ? 'temporary_error' : 'permanent_error';
    case 'unanswered':
      return r.reason === 'timeout' ? 'timeout' : 'connection_lost';
  }
}
