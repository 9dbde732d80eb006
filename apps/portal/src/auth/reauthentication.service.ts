import { BadRequestException, HttpException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { type PrismaClient, type User, verifyUserPassword } from '@smsgw/db';
import { PRISMA } from '../infra/tokens';
import { LoginThrottle } from './login-throttle.service';
import type { Session } from './session';

/**
 * Asks a logged-in user for their password again before a sensitive change (their own password,
 * the partner's API password): a session taken over from an unattended browser or a stolen cookie
 * is not enough for those. Wrong answers count toward the login lockout.
 */
@Injectable()
export class Reauthentication {
  constructor(
    @Inject(PRISMA) private readonly db: PrismaClient,
    private readonly throttle: LoginThrottle,
  ) {}

  async check(s: Session, password: string, ip: string): Promise<User> {
    const user = await this.db.user.findUnique({ where: { id: s.userId } });
    if (!user) throw new UnauthorizedException('log in first');
    const wait = await this.throttle.retryAfter(user.login, ip);
    if (wait > 0) throw new HttpException({ statusCode: 429, message: 'too many failed attempts; try again later' }, 429);
    if (!(await verifyUserPassword(password, user.passwordHash))) {
      await this.throttle.failed(user.login, ip);
      throw new BadRequestException({ message: 'the current password is wrong', field: 'currentPassword' });
    }
    return user;
  }
}
