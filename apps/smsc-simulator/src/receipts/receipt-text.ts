// The receipt text is the platform's own (the SMPP server writes the same for partners).
export { formatReceiptText, receiptDate, type ReceiptFields } from '@smsgw/sms';
