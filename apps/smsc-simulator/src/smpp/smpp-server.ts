import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { SIMULATOR_CONFIG, type SimulatorConfig } from '../config';
import { SimulatorCounters } from '../state/counters';
import { SubmitService } from '../submits/submit.service';
import { BIND_COMMANDS, type BindMode, canSubmit, checkCredentials, parseBind } from './bind';
import { EsmeSession } from './esme-session';
import { MalformedPduError, readHeader, type PduHeader } from './pdu-reader';
import { Command, isResponse, SMSC_SYSTEM_ID, Status } from './protocol';
import { SessionRegistry } from './session-registry';

/** How long a bound ESME has to answer our unbind at shutdown. */
const UNBIND_TIMEOUT_MS = 1000;
const SMPP_3_4 = 0x34;

/**
 * The SMPP listener: accepts connections, checks binds, answers enquire_link and unbind, hands
 * submit_sm to SubmitService and matches the ESME's answers to our deliver_sm. Listens when the
 * application boots; unbinds everyone and frees the port when it shuts down.
 */
@Injectable()
export class SmppServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger(SmppServer.name);
  private server: Server | null = null;
  private unbindOnClose = true;

  constructor(
    @Inject(SIMULATOR_CONFIG) private readonly config: SimulatorConfig,
    private readonly registry: SessionRegistry,
    private readonly submits: SubmitService,
    private readonly counters: SimulatorCounters,
  ) {}

  get listening(): boolean {
    return this.server?.listening ?? false;
  }

  /** The bound port (useful with port 0). */
  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  async onApplicationBootstrap(): Promise<void> {
    const server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.smppPort, this.config.smppHost, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (e) => this.log.error(`SMPP listener: ${e.message}`));
    this.server = server;
    this.log.log(`SMPP listening on ${this.config.smppHost} port ${this.port}`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }

  /** false: drop connections at shutdown without unbinding, as a crashing SMSC would. */
  setUnbindOnClose(unbind: boolean): void {
    this.unbindOnClose = unbind;
  }

  private async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    const sessions = this.registry.all();
    if (this.unbindOnClose) {
      await Promise.all(sessions.map((s) => (s.mode ? s.unbindAndClose(UNBIND_TIMEOUT_MS) : s.destroy())));
    }
    // Every socket goes, so the port can be bound again at once.
    for (const s of this.registry.all()) s.destroy();
    await stopped;
  }

  private accept(socket: Socket): void {
    const session = new EsmeSession(socket, {
      frame: (s, frame) => this.onFrame(s, frame),
      malformed: (s, e) => {
        this.counters.error();
        this.log.warn(`session ${s.id} from ${s.remote}: ${e.message}; closing`);
      },
      closed: (s) => {
        this.registry.remove(s);
        if (s.mode) this.counters.bindEnded(s.mode);
        this.log.log(`session ${s.id} closed${s.mode ? ` (${s.mode} ${s.systemId})` : ''}`);
      },
    });
    this.registry.add(session);
  }

  private onFrame(session: EsmeSession, frame: Buffer): void {
    const header = readHeader(frame);
    try {
      this.dispatch(session, header, frame);
    } catch (e) {
      this.counters.error();
      const malformed = e instanceof MalformedPduError;
      if (!malformed) this.log.error(`session ${session.id}: ${(e as Error).stack ?? String(e)}`);
      if (!isResponse(header.commandId)) {
        session.respond('generic_nack', header.sequenceNumber, malformed ? Status.ESME_RINVCMDLEN : Status.ESME_RSYSERR);
      }
    }
  }

  private dispatch(session: EsmeSession, h: PduHeader, frame: Buffer): void {
    const bindMode = BIND_COMMANDS.get(h.commandId);
    if (bindMode) return this.bind(session, bindMode, h, frame);

    switch (h.commandId) {
      case Command.enquire_link:
        this.counters.enquireLink();
        return session.respond('enquire_link_resp', h.sequenceNumber, Status.ESME_ROK);
      case Command.unbind:
        this.counters.unbind();
        if (session.mode) this.counters.bindEnded(session.mode);
        session.unbind();
        session.respond('unbind_resp', h.sequenceNumber, Status.ESME_ROK);
        return session.end();
      case Command.submit_sm:
        if (!canSubmit(session.mode)) {
          this.counters.submitRejected();
          return session.respond('submit_sm_resp', h.sequenceNumber, Status.ESME_RINVBNDSTS);
        }
        return this.submits.handle(session, frame, h.sequenceNumber);
      case Command.deliver_sm_resp:
      case Command.unbind_resp:
      case Command.generic_nack:
        session.settle(h.sequenceNumber, h.commandId === Command.generic_nack && h.commandStatus === 0 ? Status.ESME_RSYSERR : h.commandStatus);
        return;
    }
    if (isResponse(h.commandId)) return; // e.g. an answer to nothing we asked: nothing to do
    this.counters.error();
    session.respond('generic_nack', h.sequenceNumber, Status.ESME_RINVCMDID);
  }

  private bind(session: EsmeSession, mode: BindMode, h: PduHeader, frame: Buffer): void {
    const respCommand = `bind_${mode}_resp`;
    if (session.mode) return session.respond(respCommand, h.sequenceNumber, Status.ESME_RALYBND);

    const request = parseBind(frame);
    const status = checkCredentials(this.config.accounts, request);
    if (status !== Status.ESME_ROK) {
      this.counters.bindRejected();
      this.log.warn(`session ${session.id} from ${session.remote}: ${mode} bind of "${request.systemId}" refused (0x${status.toString(16)})`);
      session.respond(respCommand, h.sequenceNumber, status);
      return session.end();
    }

    session.bind(mode, request.systemId);
    session.respond(respCommand, h.sequenceNumber, Status.ESME_ROK, {
      system_id: SMSC_SYSTEM_ID,
      ...(request.interfaceVersion >= SMPP_3_4 ? { sc_interface_version: SMPP_3_4 } : {}),
    });
    this.counters.bindAccepted(mode);
    this.log.log(`session ${session.id} from ${session.remote}: bound ${mode} as "${request.systemId}"`);
    this.registry.bound(session);
  }
}
