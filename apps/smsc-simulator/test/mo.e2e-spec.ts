import { encodeGsm7Unpacked, encodeUcs2 } from '@smsgw/sms';
import type { RunningSimulator } from '../src/simulator';
import { api, eventually, messageText, sleep, startTestSimulator, TestEsme, udhElements, type ReceivedDeliver } from './harness';

/** short_message exactly as on the wire: sm_length then the octets. */
function carries(d: ReceivedDeliver, shortMessage: Buffer): boolean {
  return d.raw.includes(Buffer.concat([Buffer.from([shortMessage.length]), shortMessage]));
}

const LONG_GSM = 'The quick brown fox jumps over the lazy dog. '.repeat(5).trim(); // 224 septets
const LONG_UCS2 = 'Съешь же ещё этих мягких французских булок, да выпей чаю. '.repeat(2).trim(); // 115 units

describe('MO injection', () => {
  let sim: RunningSimulator;
  let esme: TestEsme;

  beforeAll(async () => {
    sim = await startTestSimulator();
  });
  beforeEach(async () => {
    esme = await TestEsme.bound(sim.smppPort, 'receiver');
  });
  afterEach(async () => {
    await esme.close();
    sim.control.reset();
  });
  afterAll(async () => {
    await sim.close();
  });

  it('delivers a short GSM text as one deliver_sm in data_coding 0', async () => {
    const res = await api(sim, 'POST', '/mo', { from: '79001234567', to: '7522', text: 'Hello {world} €5' });
    expect(res).toEqual({ status: 200, body: { segments: 1, delivered: true, order: [1] } });
    const [d] = await esme.waitForDelivers(1);
    expect(d.pdu).toMatchObject({ esm_class: 0, data_coding: 0, source_addr: '79001234567', source_addr_ton: 1, source_addr_npi: 1, destination_addr: '7522' });
    expect(messageText(d.pdu)).toBe('Hello {world} €5');
    expect(carries(d, encodeGsm7Unpacked('Hello {world} €5'))).toBe(true);
  });

  it('uses UCS-2 for text outside GSM-7, and Latin-1 when asked', async () => {
    await api(sim, 'POST', '/mo', { from: '79001234567', to: '7522', text: 'Привет 👋' });
    await api(sim, 'POST', '/mo', { from: '79001234567', to: '7522', text: 'Grüße, Ærø', encoding: 'latin1' });
    const [ucs2, latin1] = await esme.waitForDelivers(2);
    expect(ucs2.pdu.data_coding).toBe(8);
    expect(carries(ucs2, encodeUcs2('Привет 👋'))).toBe(true);
    expect(latin1.pdu.data_coding).toBe(3);
    expect(carries(latin1, Buffer.from('Grüße, Ærø', 'latin1'))).toBe(true);
    expect(messageText(latin1.pdu)).toBe('Grüße, Ærø');
  });

  it('splits a long GSM text into segments with an 8-bit reference UDH', async () => {
    const res = await api<{ segments: number }>(sim, 'POST', '/mo', { from: '79001234567', to: '7522', text: LONG_GSM });
    expect(res.body.segments).toBe(2);
    const segments = await esme.waitForDelivers(2);
    const ref = udhElements(segments[0].pdu)[0][2];
    segments.forEach((d, i) => {
      expect(d.pdu.esm_class).toBe(0x40);
      expect(d.pdu.data_coding).toBe(0);
      expect(udhElements(d.pdu)).toEqual([Buffer.from([0x00, 0x03, ref, 2, i + 1])]);
    });
    expect(carries(segments[0], Buffer.concat([Buffer.from([0x05, 0x00, 0x03, ref, 2, 1]), encodeGsm7Unpacked(LONG_GSM.slice(0, 153))]))).toBe(true);
    expect(segments.map((d) => messageText(d.pdu)).join('')).toBe(LONG_GSM);
  });

  it('uses a 16-bit reference UDH when asked, with room for one unit less per segment', async () => {
    await api(sim, 'POST', '/mo', { from: '79001234567', to: '7522', text: LONG_UCS2, concat: 'udh16' });
    const segments = await esme.waitForDelivers(2);
    const [iei, length, refHi, refLo] = udhElements(segments[0].pdu)[0];
    expect([iei, length]).toEqual([0x08, 0x04]);
    segments.forEach((d, i) => {
      expect(d.pdu.data_coding).toBe(8);
      expect(udhElements(d.pdu)).toEqual([Buffer.from([0x08, 0x04, refHi, refLo, 2, i + 1])]);
    });
    const first = [...LONG_UCS2].slice(0, 66).join('');
    expect(carries(segments[0], Buffer.concat([Buffer.from([0x06, 0x08, 0x04, refHi, refLo, 2, 1]), encodeUcs2(first)]))).toBe(true);
    expect(segments.map((d) => messageText(d.pdu)).join('')).toBe(LONG_UCS2);
  });

  it('uses SAR TLVs without a UDH when asked', async () => {
    await api(sim, 'POST', '/mo', { from: '79001234567', to: '7522', text: LONG_GSM, concat: 'sar' });
    const segments = await esme.waitForDelivers(2);
    const ref = segments[0].pdu.sar_msg_ref_num;
    expect(typeof ref).toBe('number');
    segments.forEach((d, i) => {
      expect(d.pdu.esm_class).toBe(0);
      expect(udhElements(d.pdu)).toEqual([]);
      expect(d.pdu).toMatchObject({ sar_msg_ref_num: ref, sar_total_segments: 2, sar_segment_seqnum: i + 1 });
    });
    expect(carries(segments[1], encodeGsm7Unpacked(LONG_GSM.slice(153)))).toBe(true);
  });

  it('sends segments out of order, or drops one, when asked', async () => {
    const text = 'x'.repeat(153 * 2 + 10);
    const reversed = await api(sim, 'POST', '/mo', { from: '79001234567', to: '7522', text, outOfOrder: true });
    expect(reversed.body).toEqual({ segments: 3, delivered: true, order: [3, 2, 1] });
    const sent = await esme.waitForDelivers(3);
    expect(sent.map((d) => udhElements(d.pdu)[0][4])).toEqual([3, 2, 1]);

    const dropped = await api(sim, 'POST', '/mo', { from: '79001234567', to: '7522', text, dropSegment: 2 });
    expect(dropped.body).toEqual({ segments: 3, delivered: true, order: [1, 3] });
    const all = await esme.waitForDelivers(5);
    expect(all.slice(3).map((d) => udhElements(d.pdu)[0][4])).toEqual([1, 3]);
    await eventually(() => expect(sim.control.getCounters().mo).toEqual({ messages: 2, segments: 5, acked: 5, failed: 0 }));
  });

  it('delivers to a receiver of the chosen system only', async () => {
    const other = await TestEsme.bound(sim.smppPort, 'transceiver', 'other', 'secret');
    try {
      await api(sim, 'POST', '/mo', { from: '79001234567', to: '7522', text: 'for other', systemId: 'other' });
      const [d] = await other.waitForDelivers(1);
      expect(messageText(d.pdu)).toBe('for other');
      expect(esme.delivers).toHaveLength(0);
    } finally {
      await other.close();
    }
  });

  it('sends a segment again a second later when the ESME answers it with an error, like an SMSC', async () => {
    let answers = 0;
    esme.deliverStatus = () => (++answers === 1 ? 0x64 : 0); // ESME_RX_T_APPN first, then OK
    const res = await api(sim, 'POST', '/mo', { from: '79001234567', to: '7522', text: 'again' });
    expect(res.status).toBe(200);
    const delivers = await esme.waitForDelivers(2, () => true, 4000);
    expect(delivers.map((d) => messageText(d.pdu))).toEqual(['again', 'again']);
    await eventually(() => expect(sim.control.getCounters().mo).toMatchObject({ acked: 1, failed: 1 }));
  });

  it('keeps a segment whose connection closed unanswered until a receiver binds again, like an SMSC', async () => {
    esme.deliverStatus = () => null; // never answers: the connection closes with the segment outstanding
    expect((await api(sim, 'POST', '/mo', { from: '79001234567', to: '7522', text: 'kept' })).status).toBe(200);
    await esme.waitForDelivers(1);
    await esme.close();
    await sleep(2500); // two retries find no receiver; the segment is not dropped
    esme = await TestEsme.bound(sim.smppPort, 'receiver');
    const [d] = await esme.waitForDelivers(1, () => true, 3000);
    expect(messageText(d.pdu)).toBe('kept');
    await eventually(() => expect(sim.control.getCounters().mo).toMatchObject({ acked: 1, failed: 0 }));
  });

  it('answers 409 when no receiver is bound, and 400 for what cannot be sent', async () => {
    expect((await api(sim, 'POST', '/mo', { from: '79001234567', to: '7522', text: 'hi', systemId: 'nobody' })).status).toBe(409);
    expect((await api(sim, 'POST', '/mo', { from: '79001234567', to: '7522', text: 'Привет', encoding: 'gsm7' })).status).toBe(400);
    expect((await api(sim, 'POST', '/mo', { from: '79001234567', to: '7522', text: 'hi', dropSegment: 2 })).status).toBe(400);
    expect((await api(sim, 'POST', '/mo', { from: '79001234567', text: 'hi' })).status).toBe(400);
  });

  it('injects many MO in one request, in order; none when one of them cannot be sent', async () => {
    const messages = Array.from({ length: 50 }, (_, i) => ({ from: `790012345${String(i).padStart(2, '0')}`, to: '7522', text: `batch ${i}` }));
    const res = await api<{ results: unknown[] }>(sim, 'POST', '/mo/batch', { messages });
    expect(res.status).toBe(200);
    expect(res.body.results).toHaveLength(50);
    expect(res.body.results[0]).toEqual({ segments: 1, delivered: true, order: [1] });
    const delivers = await esme.waitForDelivers(50);
    expect(delivers.map((d) => messageText(d.pdu))).toEqual(messages.map((m) => m.text));

    const bad = await api(sim, 'POST', '/mo/batch', { messages: [{ from: '79001234567', to: '7522', text: 'fine' }, { from: '79001234567', to: '7522', text: 'Привет', encoding: 'gsm7' }] });
    expect(bad.status).toBe(400);
    expect((await api(sim, 'POST', '/mo/batch', { messages: [] })).status).toBe(400);
    expect((await api(sim, 'POST', '/mo/batch', { messages: [{ from: '79001234567', to: '7522', text: 'hi', systemId: 'nobody' }] })).status).toBe(409);
    await sleep(200);
    expect(sim.control.getCounters().mo.messages).toBe(50);
  });
});
