import { Inject, Injectable } from '@nestjs/common';
import type { SmppBindState } from '@smsgw/contracts';
import { PORTAL_CONFIG, type PortalConfig } from '../config';

/** A partner's SMPP session as the SMPP servers report it (`/binds`), with the server it is on. */
export interface SmppBind extends SmppBindState {
  server: string;
}

/** The SMPP sessions every SMPP server (`SMPP_SERVER_URLS`) holds now, read from their `/binds`. */
@Injectable()
export class SmppBinds {
  constructor(@Inject(PORTAL_CONFIG) private readonly config: PortalConfig) {}

  /** Every bind, or only one partner's; `unreachable`: the servers that did not answer. */
  async live(partnerId?: number): Promise<{ binds: SmppBind[]; unreachable: string[] }> {
    const binds: SmppBind[] = [];
    const unreachable: string[] = [];
    await Promise.all(
      this.config.SMPP_SERVER_URLS.map(async (base) => {
        try {
          const r = await fetch(`${base}/binds`, { signal: AbortSignal.timeout(1500) });
          if (!r.ok) throw new Error(`HTTP ${r.status}`);
          for (const b of ((await r.json()) as { binds: SmppBindState[] }).binds) {
            if (partnerId === undefined || b.partnerId === partnerId) binds.push({ ...b, server: base });
          }
        } catch {
          unreachable.push(base);
        }
      }),
    );
    binds.sort((a, b) => a.login.localeCompare(b.login) || a.boundAt.localeCompare(b.boundAt));
    return { binds, unreachable };
  }
}
