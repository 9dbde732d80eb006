import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { RunningSimulator } from '../src/simulator';
import { startTestSimulator } from './harness';

const run = promisify(execFile);
const SCRIPT = join(__dirname, 'net-smpp-client.pl');

/** Interoperability with Net::SMPP, an SMPP implementation that is not the `smpp` npm package. */
describe('interoperability with Perl Net::SMPP', () => {
  let sim: RunningSimulator;

  beforeAll(async () => {
    // Fail, never skip: a missing module would otherwise hide the only independent SMPP peer.
    try {
      await run('perl', ['-MNet::SMPP', '-e', '1']);
    } catch {
      throw new Error('Perl module Net::SMPP is missing: install it with `apt-get install -y libnet-smpp-perl`');
    }
    sim = await startTestSimulator({ idFormat: 'mixed' });
  });
  afterAll(async () => {
    await sim?.close();
  });

  it('binds as transceiver, submits, reads the response and the delivery receipt, and unbinds', async () => {
    // execFile, not a sync spawn: the simulator runs in this process and must keep answering.
    const { stdout } = await run('perl', [SCRIPT, '127.0.0.1', String(sim.smppPort), 'smsgw', 'smsgw', '79001234567', 'Hello from Net::SMPP'], {
      timeout: 30_000,
    });
    const got = Object.fromEntries(
      stdout
        .trim()
        .split('\n')
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    expect(got).toMatchObject({ bind_status: '0', bind_system_id: 'SMSCSIM', submit_status: '0', unbind_status: '0' });
    expect(got.message_id).toMatch(/^[0-9a-f]+$/);
    expect(got).toMatchObject({
      deliver_esm_class: '4',
      deliver_source_addr: '79001234567',
      deliver_destination_addr: 'NetSMPP',
      receipted_message_id: got.message_id,
      message_state: '2',
    });
    const decimalId = BigInt(`0x${got.message_id}`).toString(10);
    expect(got.deliver_short_message).toMatch(
      new RegExp(`^id:${decimalId} sub:001 dlvrd:001 submit date:\\d{10} done date:\\d{10} stat:DELIVRD err:000 text:Hello from Net::SMPP$`),
    );

    const [record] = sim.control.getSubmits(1);
    expect(record).toMatchObject({ sourceAddr: 'NetSMPP', sourceAddrTon: 5, destinationAddr: '79001234567', destAddrTon: 1, text: 'Hello from Net::SMPP' });
  });
});
