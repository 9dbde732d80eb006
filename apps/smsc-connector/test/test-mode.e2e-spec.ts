import { eventually, sleep, TestEnv } from './harness';

jest.setTimeout(30_000);

describe('test-mode partners without real delivery (PROTOCOL §8)', () => {
  let env: TestEnv;
  let tester: number;

  beforeAll(async () => {
    env = await TestEnv.create();
    await env.addConnection({ name: 'real' });
    await env.startConnector({ SIM_TEST_DLR_DELAY_MS: '300' });
    tester = await env.createPartner({ test_mode: true, status_url: 'http://partner.example/dlr', intermediate_reports: true });
  });
  afterAll(() => env.close());

  it('never reach the SMSC, and get the outcome of their number after the simulated delay', async () => {
    const ids = await env.send(tester, [
      { msisdn: '79036550001', test: true },
      { msisdn: '79036550005', test: true },
      { msisdn: '79036550002', test: true },
      { msisdn: '79036550000', test: true },
      { msisdn: '79036550003', test: true, text: 'ы'.repeat(100) },
    ]);
    // Handed to the simulated operator at once; the outcome comes later.
    const handed = await env.waitFor(ids, (m) => m.status !== 1, 5000);
    expect(handed.map((m) => m.status)).toEqual([0, 0, 0, 0, 0]);
    const rows = await env.waitFor([ids[0]!, ids[1]!, ids[2]!, ids[4]!], undefined, 5000);
    expect(rows.map((r) => [r.status, r.ext_status])).toEqual([
      [2, null],
      [5, 8],
      [5, 2],
      [2, null],
    ]);
    // The handed-over time is when it went to the simulated operator; the outcome ~300 ms later
    // (a delayed job may fire a few ms early against PostgreSQL's clock: seen 247 ms on a busy machine).
    for (const r of rows) expect(r.done_at!.getTime() - r.submitted_at!.getTime()).toBeGreaterThanOrEqual(200);
    await sleep(600);
    expect(await env.message(ids[3]!)).toMatchObject({ status: 0, done_at: null });

    expect(env.sim.control.getCounters().submits).toBe(0);
    const { rows: parts } = await env.pool.query('SELECT count(*)::int AS n FROM message_part');
    expect(parts[0].n).toBe(0);
    await eventually(async () => {
      const jobs = (await env.queuedReports()).map((j) => j.id);
      expect(jobs).toEqual(expect.arrayContaining([`d${ids[0]}-0`, `d${ids[0]}-2`, `d${ids[1]}-5`, `d${ids[2]}-5`, `d${ids[3]}-0`]));
      expect(jobs).not.toContain(`d${ids[3]}-2`);
      expect(jobs).not.toContain(`d${ids[3]}-5`);
    });
  });

  it('get their outcome even when Redis lost the outcome job', async () => {
    await env.stopConnector();
    await env.startConnector({ SIM_TEST_DLR_DELAY_MS: '60000', SIM_TEST_OUTCOME_GRACE_MS: '500' });
    const [lost, silent] = await env.send(tester, [
      { msisdn: '79036550021', test: true },
      { msisdn: '79036560000', test: true, text: 'never a final report' },
    ]);
    await env.waitFor([lost!, silent!], (m) => m.status === 0, 5000);
    // Redis loses the pending outcome (its job was due in a minute).
    const removed = await env.removeJob('mt.test-outcome', `t${lost}`);
    expect(removed).toBe(true);
    await sleep(1000);
    // Due 60 s after the hand-over plus the grace: not yet.
    expect(await env.message(lost!)).toMatchObject({ status: 0 });
    await env.pool.query(`UPDATE message SET submitted_at = submitted_at - interval '61 seconds' WHERE id = ANY($1::bigint[])`, [[lost, silent]]);
    await env.waitFor([lost!], (m) => m.status === 2, 5000);
    await sleep(500);
    // …0000 numbers never get a final report, lost job or not.
    expect(await env.message(silent!)).toMatchObject({ status: 0 });
    await env.stopConnector();
    await env.startConnector({ SIM_TEST_DLR_DELAY_MS: '300' });
  });

  it('keep their pending outcome across a connector restart (it waits in Redis)', async () => {
    const [id] = await env.send(tester, [{ msisdn: '79036550011', test: true }]);
    await env.waitFor([id!], (m) => m.status === 0, 5000);
    await env.stopConnector();
    await sleep(500); // the outcome fell due while no connector ran
    expect(await env.message(id!)).toMatchObject({ status: 0 });
    await env.startConnector({ SIM_TEST_DLR_DELAY_MS: '300' });
    await env.waitFor([id!], (m) => m.status === 2, 5000);
  });

  it('a cancelled test message gets no outcome', async () => {
    const id = await env.storeMessage(tester, { msisdn: '79036550021', test: true });
    await env.pool.query('UPDATE message SET status = 8 WHERE id = $1', [id]);
    await env.enqueue(tester, [id]);
    await sleep(600);
    expect(await env.message(id)).toMatchObject({ status: 8 });
  });

  it('8-bit data goes to the simulated operator as a text does, and gets its number\'s outcome', async () => {
    const [delivered, undelivered] = await env.send(tester, [
      { msisdn: '79036550041', test: true, binary: { data: Buffer.from('0001ff00'.repeat(40), 'hex') } },
      { msisdn: '79036550005', test: true, binary: { data: Buffer.from('0605040b8423f00106', 'hex'), udhi: true } },
    ]);
    const rows = await env.waitFor([delivered!, undelivered!], undefined, 5000);
    expect(rows.map((r) => [r.status, r.ext_status])).toEqual([
      [2, null],
      [5, 8],
    ]);
    expect(env.sim.control.getSubmits(10, '79036550041')).toHaveLength(0);
  });

  it('with real delivery on, test traffic goes to the SMSC', async () => {
    const real = await env.createPartner({ test_mode: true, test_real_delivery: true });
    const [id] = await env.send(real, [{ msisdn: '79036550031', test: true }]);
    await env.waitFor([id!], (m) => m.status === 2, 5000);
    expect(env.sim.control.getSubmits(10, '79036550031')).toHaveLength(1);
  });
});
