import { createTestEnv, sleep, startPartnerServer, waitFor, type PartnerServer, type Received, type TestEnv, type Worker } from './harness';

// The MO pump with order per subscriber (PROTOCOL §6): one pump per partner, across instances,
// pushes the head MO of every subscriber with nothing in flight, up to the partner's callback
// concurrency, and a subscriber's next MO only once the one before is answered. Measured at a real
// HTTP server: the requests in flight at once, and each request's arrival and answer.
jest.setTimeout(60_000);

/** Stores `perSubscriber` MO for each of `subscribers` numbers, arrival order interleaved (#0 of all, then #1, …); returns their ids. */
async function storeMo(t: TestEnv, partnerId: number, subscribers: number, perSubscriber: number, prefix = '7903200'): Promise<string[]> {
  const { rows } = await t.pool.query<{ id: string }>(
    `INSERT INTO mo_message (partner_id, msisdn, service_number, text, segments, received_at)
     SELECT $1, $2 || lpad(s::text, 4, '0'), '4545', $2 || lpad(s::text, 4, '0') || ' #' || k, 1, now() - interval '1 minute' + (k * $3 + s) * interval '1 ms'
     FROM generate_series(0, $4 - 1) k, generate_series(0, $3 - 1) s ORDER BY k, s RETURNING id::text`,
    [partnerId, prefix, subscribers, perSubscriber],
  );
  return rows.map((r) => r.id);
}

async function acknowledged(t: TestEnv, ids: string[]): Promise<number> {
  const { rows } = await t.pool.query<{ n: string }>('SELECT count(*) AS n FROM mo_message WHERE id = ANY($1::bigint[]) AND callback_done_at IS NOT NULL', [ids]);
  return Number(rows[0]!.n);
}

/** The requests of each subscriber, in the order they arrived. */
function bySubscriber(received: Received[]): Map<string, Received[]> {
  const out = new Map<string, Received[]>();
  for (const r of received) {
    const k = r.query.get('clientId')!;
    const list = out.get(k) ?? [];
    list.push(r);
    out.set(k, list);
  }
  return out;
}

/** Each subscriber's MO in arrival order, and each one sent only after the one before it was answered. */
function expectSubscriberOrder(received: Received[], perSubscriber: number): void {
  for (const [msisdn, list] of bySubscriber(received)) {
    const delivered = list.filter((r, i) => i === list.length - 1 || list[i + 1]!.query.get('message') !== r.query.get('message'));
    expect(delivered.map((r) => r.query.get('message'))).toEqual(Array.from({ length: perSubscriber }, (_, k) => `${msisdn} #${k}`));
    for (let i = 1; i < list.length; i++) expect(list[i]!.at).toBeGreaterThanOrEqual(list[i - 1]!.answeredAt!);
  }
}

describe('callback-worker: MO pump, order per subscriber', () => {
  let t: TestEnv;
  let server: PartnerServer;
  const workers: Worker[] = [];

  beforeAll(async () => {
    t = await createTestEnv();
  });

  afterEach(async () => {
    for (const w of workers.splice(0)) await w.close();
    await server?.close();
  });

  afterAll(async () => {
    await t?.close();
  });

  const partnerWith = async (concurrency: number) => {
    const partnerId = await t.createPartner({ mo_url: server.url('/mo') });
    await t.updatePartner(partnerId, `mo_order = 'subscriber', callback_concurrency = ${concurrency}`);
    return partnerId;
  };

  it('pushes as many subscribers at once as the partner\'s concurrency allows, each subscriber\'s MO in order, each once', async () => {
    server = await startPartnerServer(() => ({ status: 204, delayMs: 30 }));
    const partnerId = await partnerWith(10);
    const ids = await storeMo(t, partnerId, 60, 4);
    await t.enqueueMo(partnerId, ids);
    workers.push(await t.startWorker());
    const started = Date.now();
    await waitFor('all acknowledged', async () => (await acknowledged(t, ids)) === ids.length, 30_000, 50);
    const took = Date.now() - started;

    expect(server.maxInFlight).toBe(10);
    expect(server.received).toHaveLength(ids.length);
    expect(new Set(server.received.map((r) => r.query.get('messageId'))).size).toBe(ids.length);
    expectSubscriberOrder(server.received, 4);
    // mtSent counts the subscriber's own MO waiting behind: 3, 2, 1, 0.
    for (const list of bySubscriber(server.received).values()) expect(list.map((r) => r.query.get('mtSent'))).toEqual(['3', '2', '1', '0']);
    // 240 pushes of 30 ms, ten at a time: 0.72 s of answers; one at a time would take 7.2 s.
    expect(took).toBeLessThan(5_000);
  });

  it('after a failed push every MO of the partner waits for its retry, and the subscriber\'s later MO go after it', async () => {
    // The second MO of the first subscriber fails once (the first round has opened the connections).
    const poison = '79032000000 #1';
    let failures = 0;
    server = await startPartnerServer((r) => (r.query.get('message') === poison && ++failures === 1 ? { status: 503 } : { status: 204, delayMs: 20 }));
    const partnerId = await partnerWith(4);
    const ids = await storeMo(t, partnerId, 8, 3);
    await t.enqueueMo(partnerId, ids);
    workers.push(await t.startWorker());
    await waitFor('all acknowledged', async () => (await acknowledged(t, ids)) === ids.length, 15_000, 50);

    const [failed, retry] = server.received.filter((r) => r.query.get('message') === poison);
    // Pushes already under way finish; none starts until the retry, at least CALLBACK_MO_DOWN_MS (300 ms) later.
    const startedBetween = server.received.filter((r) => r.at > failed!.answeredAt! + 5 && r.at < retry!.at);
    expect(startedBetween.map((r) => r.query.get('message'))).toEqual([]);
    expect(retry!.at - failed!.answeredAt!).toBeGreaterThanOrEqual(280);
    expectSubscriberOrder(server.received, 3);
    expect(bySubscriber(server.received).get('79032000000')!.map((r) => r.query.get('message'))).toEqual(['79032000000 #0', poison, poison, '79032000000 #2']);
    expect(server.received).toHaveLength(ids.length + 1);
  });

  it('with two worker instances one pump pushes, within the partner\'s concurrency, each MO once', async () => {
    server = await startPartnerServer(() => ({ status: 204, delayMs: 25 }));
    const partnerId = await partnerWith(5);
    workers.push(await t.startWorker(), await t.startWorker());
    // MO arrive while both run: jobs go to either instance, in bursts.
    const ids: string[] = [];
    for (let round = 0; round < 5; round++) {
      const batch = await storeMo(t, partnerId, 30, 2, `790321${round}`);
      ids.push(...batch);
      await t.enqueueMo(partnerId, batch);
      await sleep(50);
    }
    await waitFor('all acknowledged', async () => (await acknowledged(t, ids)) === ids.length, 30_000, 50);

    expect(server.maxInFlight).toBeLessThanOrEqual(5);
    expect(server.received).toHaveLength(ids.length);
    expectSubscriberOrder(server.received, 2);
  });

  it('a worker stopping mid-backlog finishes its pushes in flight and the other instance does the rest', async () => {
    server = await startPartnerServer(() => ({ status: 204, delayMs: 40 }));
    const partnerId = await partnerWith(4);
    const ids = await storeMo(t, partnerId, 20, 5);
    const first = await t.startWorker();
    await t.enqueueMo(partnerId, ids);
    const second = await t.startWorker();
    workers.push(second);
    await waitFor('pushes under way', () => server.received.length >= 12, 10_000, 5);
    // The first instance holds the partner's lock: every push so far is its own.
    const closing = first.close();
    const sent = server.received.map((r) => r.query.get('messageId')!);
    await closing;
    // Those in flight were answered and acknowledged before it closed.
    expect(await acknowledged(t, sent)).toBe(sent.length);

    await waitFor('all acknowledged', async () => (await acknowledged(t, ids)) === ids.length, 30_000, 50);
    expect(server.received).toHaveLength(ids.length);
    expectSubscriberOrder(server.received, 5);
  });
});
