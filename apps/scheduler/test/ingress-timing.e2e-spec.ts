import { TestEnv, type TestScheduler } from './harness';
import { call, createApiPartner, startIngress, type Ingress } from './platform';

// Through the real ingress: a postponed or windowed /send is stored for the right instant in the
// partner's zone or the subscriber's (time_zone), and the scheduler hands it over then, not a
// millisecond earlier.
jest.setTimeout(30_000);

const HOUR = 3_600_000;

describe('scheduler: messages sent through the ingress leave at the right local time', () => {
  let t: TestEnv;
  let s: TestScheduler;
  let ingress: Ingress;

  beforeAll(async () => {
    t = await TestEnv.create();
    ingress = await startIngress(t);
    s = await t.startScheduler();
  });

  afterAll(async () => {
    await ingress?.close();
    await t?.close();
  });

  /** The local hour at `now` in a zone `offsetMs` ahead of UTC, and the instant that hour began. */
  function localHour(offsetMs: number, now = Date.now()): { hour: number; start: number } {
    const local = now + offsetMs;
    const start = local - (local % HOUR);
    return { hour: new Date(start).getUTCHours(), start: start - offsetMs };
  }

  async function send(login: string, password: string, extra: Record<string, string>): Promise<string> {
    const r = await call(ingress.port, '/send', { serviceId: login, pass: password, clientId: '79031234561', message: 'timed', ...extra });
    expect(r.status).toBe(200);
    return r.body.split('\n')[1]!;
  }

  async function expectReleasedAt(id: string, at: Date): Promise<void> {
    expect((await t.message(id)).release_at).toEqual(at);
    await s.release.releaseDue(new Date(at.getTime() - 1));
    expect(await t.dispatchJobOf(id)).toBeNull();
    await s.release.releaseDue(at);
    expect(await t.dispatchJobOf(id)).not.toBeNull();
    expect((await t.message(id)).released_at).toEqual(at);
  }

  it('opens sending_time in the partner zone', async () => {
    const p = await createApiPartner(t, { time_zone: 'Asia/Tokyo' }); // UTC+9, no DST
    const now = localHour(9 * HOUR);
    const start = (now.hour + 2) % 24;
    const id = await send(p.login, p.password, { sending_time: `${start}_${(start + 1) % 24}` });
    await expectReleasedAt(id, new Date(now.start + 2 * HOUR));
  });

  it("opens sending_time in the subscriber's zone given by time_zone", async () => {
    const p = await createApiPartner(t, { time_zone: 'Asia/Tokyo' });
    const now = localHour(5.5 * HOUR); // +05:30
    const start = (now.hour + 3) % 24;
    const id = await send(p.login, p.password, { sending_time: `${start}_${(start + 2) % 24}`, time_zone: '+05:30' });
    await expectReleasedAt(id, new Date(now.start + 3 * HOUR));
  });

  it('sends send_at given as local time in the partner zone', async () => {
    const p = await createApiPartner(t, { time_zone: 'Europe/Moscow' }); // UTC+3
    const tomorrow = new Date(Date.now() + 3 * HOUR + 24 * HOUR).toISOString().slice(0, 10);
    const id = await send(p.login, p.password, { send_at: `${tomorrow} 09:30:00` });
    await expectReleasedAt(id, new Date(`${tomorrow}T06:30:00Z`));
  });
});
