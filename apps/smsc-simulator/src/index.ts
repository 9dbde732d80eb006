// The in-process API for other apps' tests: require('@smsgw/smsc-simulator/dist/index').
export { startSimulator, createSimulatorApp, type RunningSimulator } from './simulator';
export {
  loadSimulatorConfig,
  type SimulatorConfig,
  type Account,
  type OutcomeShare,
  type ReceiptStat,
  type IdFormat,
  RECEIPT_STATES,
} from './config';
export type { SimulatorControl, CountersView } from './control/simulator-control';
export type { MoRequest, MoResult } from './mo/mo.service';
export type { ReceiptRule } from './receipts/receipt-outcome';
export type { SubmitRecord, PlannedReceipt } from './submits/submit-record';
export type { RuntimeSettings } from './state/runtime-settings';
