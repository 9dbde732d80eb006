import { receiptFromDeliverSm } from '@smsgw/sms';
import { receiptForJournal, receiptFromJournal } from './inbound-journal';

describe('receipts in the inbound journal', () => {
  it('come back from a journal line as they went in, dates included', () => {
    const receipt = receiptFromDeliverSm({
      esm_class: 0x04,
      source_addr: '79161234567',
      destination_addr: 'SHOP',
      short_message: 'id:0A1B2C sub:001 dlvrd:001 submit date:2612051230 done date:2612051231 stat:DELIVRD err:000 text:Your code is 1234',
    });
    expect(receipt).not.toBeNull();
    expect(receipt!.submitDate).toBeInstanceOf(Date);
    expect(receipt!.doneAt).toBeInstanceOf(Date);
    const line = JSON.stringify(receiptForJournal(receipt!));
    expect(receiptFromJournal(JSON.parse(line))).toEqual(receipt);
  });

  it('leave out dates the receipt did not have', () => {
    const back = receiptFromJournal(JSON.parse(JSON.stringify(receiptForJournal({ smscMessageId: '7', stat: 'UNDELIV', err: null }))));
    expect(back).toEqual({ smscMessageId: '7', stat: 'UNDELIV', err: null });
  });
});
