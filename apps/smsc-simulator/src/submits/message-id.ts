import type { IdFormat } from '../config';

// Ids start from the clock (100 per millisecond of uptime to spare) and are shared by every
// simulator in the process, so a restarted or second simulator never reuses an id a connector
// may still hold.
let nextNumber = Date.now() * 100;

export interface MessageIds {
  /** For submit_sm_resp and receipted_message_id. */
  messageId: string;
  /** For the receipt text's `id:` field. */
  receiptId: string;
}

export function allocateMessageId(format: IdFormat): MessageIds {
  const n = nextNumber++;
  const hex = n.toString(16);
  const decimal = n.toString(10);
  switch (format) {
    case 'hex':
      return { messageId: hex, receiptId: hex };
    case 'decimal':
      return { messageId: decimal, receiptId: decimal };
    case 'mixed':
      return { messageId: hex, receiptId: decimal };
  }
}
