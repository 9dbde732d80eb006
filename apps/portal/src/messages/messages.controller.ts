import { Readable } from 'node:stream';
import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { CurrentSession, type Session } from '../auth/session';
import { partnerScope } from '../http/scope';
import { StatsService } from '../stats/stats.service';
import { csvLine } from './csv';
import { messageFilter, MessagesService } from './messages.service';

const CSV_HEADER = ['id', 'partnerMsgId', 'ptag', 'createdAt', 'sender', 'msisdn', 'status', 'extStatus', 'segments', 'test', 'submittedAt', 'doneAt', 'text'];

function pageSize(v: string | undefined): number {
  const n = Number(v ?? 50);
  return Number.isInteger(n) && n >= 1 && n <= 500 ? n : 50;
}

@Controller('api/messages')
export class MessagesController {
  constructor(
    private readonly messages: MessagesService,
    private readonly stats: StatsService,
  ) {}

  /** Search: id, partnerMsgId, msisdn, sender, status, test, from, to (dates in the partner's zone or ISO times); `cursor` for the next page. */
  @Get()
  async search(@CurrentSession() s: Session, @Query() q: Record<string, string | undefined>) {
    const partnerId = partnerScope(s, q.partnerId);
    const zone = await this.stats.partnerZone(partnerId);
    return this.messages.search(messageFilter(partnerId, q, zone), pageSize(q.limit), q.cursor || undefined);
  }

  /** The same search as CSV, every match, streamed in batches (the response starts at once). */
  @Get('export.csv')
  async export(@CurrentSession() s: Session, @Query() q: Record<string, string | undefined>, @Res({ passthrough: true }) reply: FastifyReply) {
    const partnerId = partnerScope(s, q.partnerId);
    const zone = await this.stats.partnerZone(partnerId);
    const filter = messageFilter(partnerId, q, zone);
    const batches = this.messages.all(filter);
    reply.header('Content-Type', 'text/csv; charset=utf-8');
    reply.header('Content-Disposition', `attachment; filename="messages-${partnerId}-${new Date().toISOString().slice(0, 10)}.csv"`);
    return Readable.from(
      (async function* () {
        yield `\ufeff${csvLine(CSV_HEADER)}`;
        for await (const rows of batches) {
          yield rows.map((r) => csvLine([r.id, r.partnerMsgId, r.ptag, r.createdAt, r.sender, r.msisdn, r.status, r.extStatus, r.segments, r.test, r.submittedAt, r.doneAt, r.text])).join('');
        }
      })(),
    );
  }

  @Get(':id')
  async timeline(@CurrentSession() s: Session, @Param('id') id: string, @Query('partnerId') partnerId?: string) {
    return this.messages.timeline(partnerScope(s, partnerId), id, s.role);
  }
}
