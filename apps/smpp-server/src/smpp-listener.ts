import { createServer, type AddressInfo, type Server } from 'node:net';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { metricsRegistry, registeredCounter, Startup } from '@smsgw/common';
import type { SmppBindState } from '@smsgw/contracts';
import { PartnerCache } from '@smsgw/intake';
import { responseCommand, SmppStatus, Tag, type Command, type Pdu, type PduError } from '@smsgw/sms';
import { SMPP_SERVER_CONFIG, type SmppServerConfig } from './config';
import { PartnerBinds, type BindMode } from './partner-binds';
import { PartnerSession } from './partner-session';
import { QueryService } from './query.service';
import type { RateMeter } from './rate-meter';
import { ReceiverRegistry } from './receiver-registry';
import { SubmitService } from './submit.service';

const BIND_MODES: Partial<Record<Command, BindMode>> = {
  bind_transmitter: 'transmitter',
  bind_receiver: 'receiver',
  bind_transceiver: 'transceiver',
};
const SMPP_3_4 = 0x34;
/** How often bound sessions are checked against their partner's current settings. */
const REVOCATION_CHECK_MS = 1000;

const bindsTotal = registeredCounter('smsgw_smpp_server_binds_total', 'Bind requests by mode and outcome (ok; refused; error: not started yet or the database failed).', ['mode', 'outcome']);
const pdusTotal = registeredCounter('smsgw_smpp_server_pdus_total', 'PDUs received from partners, by command.', ['command']);
const submitsTotal = registeredCounter('smsgw_smpp_server_submits_total', 'submit_sm answered, by command_status (ESME_ROK: stored).', ['status']);
const errorsTotal = registeredCounter('smsgw_smpp_server_errors_total', 'PDUs refused or connections closed for a protocol error, by reason.', ['reason']);

/** The listeners running in this process (one, but the tests start several): the gauges below add up their sessions. */
const liveListeners = new Set<SmppListener>();

/**
 * Gauges read from the sessions when /metrics is scraped, registered once per process whatever the
 * number of listeners: open connections by bind mode, and the PDUs unanswered on them by bind mode
 * (per partner or per bind is `/binds`, not metrics: no partner labels).
 */
function registerSessionGauges(): void {
  if (!metricsRegistry.getSingleMetric('smsgw_smpp_server_sessions')) {
    new Gauge({
      name: 'smsgw_smpp_server_sessions',
      help: 'Open SMPP connections, by bind mode (none: not bound yet).',
      labelNames: ['mode'],
      registers: [metricsRegistry],
      collect() {
        this.reset();
        for (const l of liveListeners) for (const s of l.sessions) this.inc({ mode: s.mode ?? 'none' });
      },
    });
  }
  if (!metricsRegistry.getSingleMetric('smsgw_smpp_server_in_flight')) {
    new Gauge({
      name: 'smsgw_smpp_server_in_flight',
      help: 'PDUs unanswered on the bound sessions, by bind mode: submit_sm (and data_sm) of partners not answered yet, deliver_sm of ours the partner has not answered yet. Against SMPP_WINDOW per session.',
      labelNames: ['mode', 'command'],
      registers: [metricsRegistry],
      collect() {
        this.reset();
        for (const l of liveListeners) {
          for (const s of l.sessions) {
            if (!s.mode) continue;
            this.inc({ mode: s.mode, command: 'submit_sm' }, s.inFlight);
            this.inc({ mode: s.mode, command: 'deliver_sm' }, s.delivering);
          }
        }
      },
    });
  }
}

/**
 * The SMPP 3.4 listener partners bind to: binds (transmitter, receiver, transceiver) decided by
 * `PartnerBinds`, `enquire_link`, `unbind` either way, `generic_nack` for what it cannot read or
 * does not take, and the timeouts (no bind in time, a bound session silent too long). Listens
 * when the application boots; at shutdown unbinds every session and waits for the answers.
 */
@Injectable()
export class SmppListener implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger(SmppListener.name);
  private server: Server | null = null;
  private revocations: NodeJS.Timeout | null = null;
  readonly sessions = new Set<PartnerSession>();

  constructor(
    @Inject(SMPP_SERVER_CONFIG) private readonly config: SmppServerConfig,
    private readonly binds: PartnerBinds,
    private readonly submits: SubmitService,
    private readonly queries: QueryService,
    private readonly startup: Startup,
    private readonly partners: PartnerCache,
    private readonly receivers: ReceiverRegistry,
  ) {
    registerSessionGauges();
  }

  /**
   * Sessions whose partner changed since the bind so that the bind would now be refused: blocked,
   * SMPP disabled, or a new SMPP password. The partner cache follows operators' changes within
   * milliseconds; a cached row older than the bind is not trusted yet (the bind read the database).
   */
  private revoked(): PartnerSession[] {
    const out: PartnerSession[] = [];
    for (const s of this.sessions) {
      if (!s.partner || !s.boundAt || s.closing) continue;
      const cached = this.partners.byPartnerId(s.partner.id);
      if (!cached || cached.row.updated_at.getTime() <= s.boundAt.getTime()) continue;
      if (cached.row.status !== 'active' || cached.row.smpp_password_hash !== s.partner.passwordHash) out.push(s);
    }
    return out;
  }

  /** Every bound session, for `/binds`. */
  bindStates(): SmppBindState[] {
    const out: SmppBindState[] = [];
    const now = Date.now();
    for (const s of this.sessions) {
      if (!s.partner || !s.mode || !s.boundAt) continue;
      out.push({
        partnerId: s.partner.id,
        login: s.partner.login,
        mode: s.mode,
        remote: s.remote,
        boundAt: s.boundAt.toISOString(),
        window: this.config.SMPP_WINDOW,
        inFlight: s.inFlight,
        accepted: s.accepted,
        refused: s.refused,
        submitsPerSecond: perSecond(s.submitRate, now),
        delivered: s.delivered,
        deliverFailed: s.deliverFailed,
        deliversPerSecond: perSecond(s.deliverRate, now),
      });
    }
    return out;
  }

  /** The bound port (useful with port 0). */
  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  async onApplicationBootstrap(): Promise<void> {
    const server = createServer((socket) => {
      const session = new PartnerSession(
        socket,
        {
          pdu: (s, pdu) => this.onPdu(s, pdu),
          malformed: (s, e, sequence, fatal) => this.onMalformed(s, e, sequence, fatal),
          idle: (s) => void this.onIdle(s),
          closed: (s) => {
            this.sessions.delete(s);
            if (s.partner && receives(s.mode)) void this.receivers.removed(s.partner.id);
            this.log.log(`session ${s.id} from ${s.remote} closed${s.partner ? ` (${s.mode} ${s.partner.login})` : ''}`);
          },
        },
        { bindMs: this.config.SMPP_BIND_TIMEOUT_MS, inactivityMs: this.config.SMPP_INACTIVITY_TIMEOUT_MS },
      );
      this.sessions.add(session);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.SMPP_SERVER_PORT, this.config.SMPP_SERVER_HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (e) => this.log.error(`SMPP listener: ${e.message}`));
    this.server = server;
    liveListeners.add(this);
    this.revocations = setInterval(() => {
      for (const s of this.revoked()) {
        this.log.warn(`session ${s.id} from ${s.remote} (${s.partner!.login}): the partner was blocked or its SMPP password changed; unbinding`);
        void this.unbindAndClose(s);
      }
    }, REVOCATION_CHECK_MS);
    this.revocations.unref();
    this.log.log(`SMPP listening on ${this.config.SMPP_SERVER_HOST} port ${this.port}`);
  }

  async onApplicationShutdown(): Promise<void> {
    liveListeners.delete(this);
    if (this.revocations) clearInterval(this.revocations);
    const server = this.server;
    if (!server) return;
    this.server = null;
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.all([...this.sessions].map((s) => this.unbindAndClose(s)));
    await stopped;
  }

  private onPdu(session: PartnerSession, pdu: Pdu): void {
    pdusTotal.inc({ command: pdu.command });
    const mode = BIND_MODES[pdu.command];
    if (mode) return void this.bind(session, mode, pdu);
    switch (pdu.command) {
      case 'enquire_link':
        return session.send({ command: 'enquire_link_resp', sequence: pdu.sequence });
      case 'unbind':
        // The submit_sm already taken are answered first: each may carry a stored message's id.
        session.closing = true;
        return void session.drained(this.config.SMPP_UNBIND_TIMEOUT_MS).then(() => {
          session.send({ command: 'unbind_resp', sequence: pdu.sequence });
          session.end();
        });
      case 'generic_nack':
        // A partner refusing something of ours it could not read: nothing to answer.
        this.log.warn(`session ${session.id} (${session.partner?.login ?? 'not bound'}): generic_nack 0x${pdu.status.toString(16)} for sequence ${pdu.sequence}`);
        return;
    }
    // A response to nothing we asked: nothing to do.
    if (responseCommand(pdu.command) === null) return;
    const response = responseCommand(pdu.command)!;
    if (!session.bound) {
      errorsTotal.inc({ reason: 'not_bound' });
      return session.send({ command: response, sequence: pdu.sequence, status: SmppStatus.ESME_RINVBNDSTS });
    }
    if (pdu.command === 'submit_sm' || pdu.command === 'data_sm') return void this.submit(session, pdu, response);
    if (pdu.command === 'query_sm' || pdu.command === 'cancel_sm') return void this.lookup(session, pdu, response);
    errorsTotal.inc({ reason: 'unsupported_command' });
    session.send({ command: 'generic_nack', sequence: pdu.sequence, status: SmppStatus.ESME_RINVCMDID });
  }

  /** submit_sm, or data_sm (answered data_sm_resp), from a session that may submit. */
  private async submit(session: PartnerSession, pdu: Pdu, response: Command): Promise<void> {
    const answer = (status: number, messageId?: string) => {
      submitsTotal.inc({ status: status === 0 ? 'ESME_ROK' : statusName(status) });
      session.noteSubmitted(status === 0);
      session.send({ command: response, sequence: pdu.sequence, status, params: messageId === undefined ? {} : { message_id: messageId } });
    };
    if (session.mode === 'receiver' || session.closing) return answer(SmppStatus.ESME_RINVBNDSTS);
    if (session.inFlight >= this.config.SMPP_WINDOW) return answer(SmppStatus.ESME_RMSGQFUL);
    session.inFlight++;
    try {
      const outcome = await this.submits.submit(session.partner!.id, pdu);
      if (outcome.ok) return answer(0, outcome.messageId);
      this.log.debug(`session ${session.id} (${session.partner!.login}): ${pdu.command} ${pdu.sequence} refused (${statusName(outcome.status)}): ${outcome.reason}`);
      answer(outcome.status);
    } catch (e) {
      this.log.error(`session ${session.id} (${session.partner!.login}): ${pdu.command} ${pdu.sequence} failed: ${(e as Error).stack ?? String(e)}`);
      answer(SmppStatus.ESME_RSYSERR);
    } finally {
      session.inFlight--;
    }
  }

  /** query_sm and cancel_sm, from a session that may submit. */
  private async lookup(session: PartnerSession, pdu: Pdu, response: Command): Promise<void> {
    if (session.mode === 'receiver') return session.send({ command: response, sequence: pdu.sequence, status: SmppStatus.ESME_RINVBNDSTS });
    try {
      session.send(pdu.command === 'query_sm' ? await this.queries.query(session.partner!.id, pdu) : await this.queries.cancel(session.partner!.id, pdu));
    } catch (e) {
      this.log.error(`session ${session.id} (${session.partner!.login}): ${pdu.command} ${pdu.sequence} failed: ${(e as Error).message}`);
      session.send({ command: response, sequence: pdu.sequence, status: SmppStatus.ESME_RSYSERR });
    }
  }

  private async bind(session: PartnerSession, mode: BindMode, pdu: Pdu): Promise<void> {
    const response = `bind_${mode}_resp` as Command;
    if (session.bound || session.binding) {
      return session.send({ command: response, sequence: pdu.sequence, status: SmppStatus.ESME_RALYBND });
    }
    if (!this.startup.ready) {
      // Not connected to PostgreSQL and Redis yet, or the partners not loaded: come back later.
      bindsTotal.inc({ mode, outcome: 'error' });
      return session.send({ command: response, sequence: pdu.sequence, status: SmppStatus.ESME_RSYSERR });
    }
    session.binding = true;
    const systemId = String(pdu.params.system_id ?? '');
    let decision;
    try {
      decision = await this.binds.decide(systemId, String(pdu.params.password ?? ''), session.address);
    } catch (e) {
      session.binding = false;
      this.log.error(`session ${session.id} from ${session.remote}: ${mode} bind of "${systemId}" not decided: ${(e as Error).message}`);
      bindsTotal.inc({ mode, outcome: 'error' });
      session.send({ command: response, sequence: pdu.sequence, status: SmppStatus.ESME_RSYSERR });
      return;
    }
    session.binding = false;
    if (!decision.ok) {
      bindsTotal.inc({ mode, outcome: 'refused' });
      this.log.warn(`session ${session.id} from ${session.remote}: ${mode} bind of "${systemId}" refused: ${decision.reason}`);
      session.send({ command: response, sequence: pdu.sequence, status: decision.status });
      return session.end();
    }
    session.bind(mode, decision.partner, decision.release);
    bindsTotal.inc({ mode, outcome: 'ok' });
    const version = Number(pdu.params.interface_version ?? 0);
    session.send({
      command: response,
      sequence: pdu.sequence,
      params: { system_id: this.config.SMPP_SYSTEM_ID },
      tlvs: version >= SMPP_3_4 ? [{ tag: Tag.sc_interface_version, value: Buffer.from([SMPP_3_4]) }] : [],
    });
    this.log.log(`session ${session.id} from ${session.remote}: bound ${mode} as "${decision.partner.login}"`);
    // Reports and MO waiting for this partner come over the new bind now, not at their next retry.
    if (receives(mode)) void this.receivers.added(decision.partner.id);
  }

  private onMalformed(session: PartnerSession, e: PduError, sequence: number | null, fatal: boolean): void {
    errorsTotal.inc({ reason: fatal ? 'unreadable_stream' : 'malformed_pdu' });
    this.log.warn(`session ${session.id} from ${session.remote}${session.partner ? ` (${session.partner.login})` : ''}: ${e.message}${fatal ? '; closing' : ''}`);
    session.send({ command: 'generic_nack', sequence: sequence ?? 0, status: e.status });
    if (fatal) session.end();
  }

  private async onIdle(session: PartnerSession): Promise<void> {
    errorsTotal.inc({ reason: session.bound ? 'inactive' : 'no_bind' });
    this.log.warn(`session ${session.id} from ${session.remote}: ${session.bound ? `nothing received for ${this.config.SMPP_INACTIVITY_TIMEOUT_MS} ms` : `no bind within ${this.config.SMPP_BIND_TIMEOUT_MS} ms`}; closing`);
    await this.unbindAndClose(session);
  }

  /**
   * Unbinds a bound session, then closes it: the submit_sm it has taken are answered first (they may
   * carry stored messages' ids), then our unbind waits a while for its answer.
   */
  private async unbindAndClose(session: PartnerSession): Promise<void> {
    session.closing = true;
    if (session.bound) {
      await session.drained(this.config.SMPP_UNBIND_TIMEOUT_MS);
      await session.request({ command: 'unbind' }, this.config.SMPP_UNBIND_TIMEOUT_MS);
    }
    session.destroy();
  }
}

/** A rate for `/binds`, to a hundredth (an event in the last 10 s is at least 0.1/s). */
function perSecond(meter: RateMeter, now: number): number {
  return Math.round(meter.perSecond(now) * 100) / 100;
}

/** A receiver or transceiver bind: the partner takes deliver_sm on it. */
function receives(mode: BindMode | null): boolean {
  return mode === 'receiver' || mode === 'transceiver';
}

const STATUS_NAMES = new Map<number, string>(Object.entries(SmppStatus).map(([name, value]) => [value, name]));

/** `ESME_RTHROTTLED` for 0x58; a code SMPP 3.4 does not name as hex. */
function statusName(status: number): string {
  return STATUS_NAMES.get(status) ?? `0x${status.toString(16).padStart(8, '0')}`;
}
