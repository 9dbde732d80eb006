import { PDU } from 'smpp';
import { ResendGuard } from './resend-guard';

const mo = (text: string, from = '79051112233'): PDU => new PDU('deliver_sm', { source_addr: from, destination_addr: '4545', short_message: text });

describe('ResendGuard', () => {
  it('takes each expected deliver_sm back once, and nothing else', () => {
    const guard = new ResendGuard(60_000);
    guard.expect([mo('YES'), mo('YES'), mo('STOP')], 1000);
    expect(guard.isResend(mo('NO'), 2000)).toBe(false);
    expect(guard.isResend(mo('YES', '79050000000'), 2000)).toBe(false);
    expect(guard.isResend(mo('YES'), 2000)).toBe(true);
    expect(guard.isResend(mo('YES'), 2000)).toBe(true);
    expect(guard.isResend(mo('YES'), 2000)).toBe(false);
    expect(guard.isResend(mo('STOP'), 2000)).toBe(true);
    expect(guard.size).toBe(0);
  });

  it('forgets what did not come back in time', () => {
    const guard = new ResendGuard(60_000);
    guard.expect([mo('A')], 0);
    guard.expect([mo('B')], 30_000);
    expect(guard.isResend(mo('A'), 60_001)).toBe(false);
    expect(guard.size).toBe(1);
    expect(guard.isResend(mo('B'), 60_001)).toBe(true);
  });

  it('tells a receipt from another by its fields', () => {
    const guard = new ResendGuard(60_000);
    const receipt = (id: string): PDU => new PDU('deliver_sm', { source_addr: '79051112233', destination_addr: 'SHOP', esm_class: 4, short_message: `id:${id} stat:DELIVRD` });
    guard.expect([receipt('1')], 0);
    expect(guard.isResend(receipt('2'), 1)).toBe(false);
    expect(guard.isResend(receipt('1'), 1)).toBe(true);
  });
});
