import { Inject, Injectable, Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import type { PrismaClient } from '@smsgw/db';
import type { ChangeContext } from '@smsgw/partners';
import type { Session } from '../auth/session';
import { PORTAL_CONFIG, type PortalConfig } from '../config';
import { actorOf } from '../http/scope';
import { PRISMA, REDIS } from './tokens';

/** The portal as the author of configuration changes (audit log + announcement, see @smsgw/partners). */
@Injectable()
export class Changes {
  private readonly logger = new Logger('Changes');

  constructor(
    @Inject(PRISMA) private readonly db: PrismaClient,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(PORTAL_CONFIG) private readonly config: PortalConfig,
  ) {}

  by(session: Session): ChangeContext {
    return {
      db: this.db,
      actor: actorOf(session),
      prefix: this.config.REDIS_PREFIX,
      allowPrivateCallbackTargets: this.config.CALLBACK_ALLOW_PRIVATE_TARGETS,
      publish: async (channel, payload) => {
        try {
          await this.redis.publish(channel, payload);
        } catch (e) {
          // Stored all the same; services pick it up at their periodic reload.
          this.logger.warn(`change stored, but not announced on ${channel}: ${(e as Error).message}`);
        }
      },
    };
  }
}
