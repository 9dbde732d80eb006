import { BadRequestException } from '@nestjs/common';
import type { Session } from '../auth/session';

/**
 * The partner whose data a request reads or changes. A partner user always gets its own partner,
 * whatever the request says; an operator names one with `partnerId`. Every query on partner data
 * filters by this id, so another partner's rows are simply not found (404), never shown.
 */
export function partnerScope(session: Session, requested: unknown): number {
  if (session.role === 'partner') {
    if (session.partnerId === null) throw new BadRequestException('this user belongs to no partner');
    return session.partnerId;
  }
  const id = Number(requested);
  if (!Number.isSafeInteger(id) || id <= 0 || id > 2_147_483_647) throw new BadRequestException({ message: 'choose a partner (partnerId)', field: 'partnerId' });
  return id;
}

/** Who did it, for audit_log.actor. */
export function actorOf(session: Session): string {
  return `portal:${session.login}`;
}
