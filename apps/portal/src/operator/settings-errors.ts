import { BadRequestException, ConflictException, NotFoundException } from '@nestjs/common';
import { SettingError } from '@smsgw/partners';

/** Runs a configuration change; a bad setting is a 400 naming its field, a taken unique name a 409. */
export async function asHttp<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof SettingError) {
      if (/^no (partner|SMSC)/.test(e.message)) throw new NotFoundException(e.message);
      if (/exists already/.test(e.message)) throw new ConflictException({ message: e.message, field: e.field });
      throw new BadRequestException({ message: e.message, field: e.field });
    }
    if ((e as { code?: string }).code === 'P2002') throw new ConflictException('that login or name exists already');
    if ((e as { code?: string }).code === 'P2025') throw new NotFoundException('not found');
    throw e;
  }
}

export function idParam(v: string): number {
  const n = Number(v);
  if (!/^[1-9][0-9]{0,9}$/.test(v) || n > 2_147_483_647) throw new NotFoundException('not found');
  return n;
}
