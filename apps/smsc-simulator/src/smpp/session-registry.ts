import { Injectable } from '@nestjs/common';
import { BIND_MODES, type BindMode, canReceive } from './bind';
import type { EsmeSession } from './esme-session';

/** The open ESME connections, and the choice of which receiver gets the next deliver_sm. */
@Injectable()
export class SessionRegistry {
  private readonly sessions = new Set<EsmeSession>();
  /** Round-robin position per system_id ('' = across all systems). */
  private readonly cursors = new Map<string, number>();
  private readonly receiverListeners: Array<(systemId: string) => void> = [];

  add(session: EsmeSession): void {
    this.sessions.add(session);
  }

  remove(session: EsmeSession): void {
    this.sessions.delete(session);
  }

  all(): EsmeSession[] {
    return [...this.sessions];
  }

  /** Called after a bind succeeded: a new receiver may take queued deliveries. */
  bound(session: EsmeSession): void {
    if (canReceive(session.mode) && session.systemId !== null) {
      for (const listener of this.receiverListeners) listener(session.systemId);
    }
  }

  onReceiverBound(listener: (systemId: string) => void): void {
    this.receiverListeners.push(listener);
  }

  /**
   * The next receiver or transceiver bind of `systemId` (of any system when undefined) that
   * `hasRoom` accepts, taking them in turn; null when there is none.
   */
  pickReceiver(systemId: string | undefined, hasRoom: (s: EsmeSession) => boolean = () => true): EsmeSession | null {
    const candidates = [...this.sessions].filter(
      (s) => !s.closed && canReceive(s.mode) && (systemId === undefined || s.systemId === systemId),
    );
    if (candidates.length === 0) return null;
    const key = systemId ?? '';
    const start = (this.cursors.get(key) ?? 0) % candidates.length;
    for (let i = 0; i < candidates.length; i++) {
      const session = candidates[(start + i) % candidates.length];
      if (hasRoom(session)) {
        this.cursors.set(key, start + i + 1);
        return session;
      }
    }
    return null;
  }

  bindCounts(): Record<BindMode, number> {
    const counts = Object.fromEntries(BIND_MODES.map((m) => [m, 0])) as Record<BindMode, number>;
    for (const s of this.sessions) if (s.mode && !s.closed) counts[s.mode]++;
    return counts;
  }
}
