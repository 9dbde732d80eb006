import type { Account } from '../config';
import { PduBodyReader } from './pdu-reader';
import { Command, Status } from './protocol';

export type BindMode = 'transmitter' | 'receiver' | 'transceiver';
export const BIND_MODES: readonly BindMode[] = ['transmitter', 'receiver', 'transceiver'];

export const BIND_COMMANDS: ReadonlyMap<number, BindMode> = new Map([
  [Command.bind_transmitter, 'transmitter'],
  [Command.bind_receiver, 'receiver'],
  [Command.bind_transceiver, 'transceiver'],
]);

export interface BindRequest {
  systemId: string;
  password: string;
  systemType: string;
  interfaceVersion: number;
}

export function parseBind(frame: Buffer): BindRequest {
  const r = new PduBodyReader(frame);
  return { systemId: r.cstring(), password: r.cstring(), systemType: r.cstring(), interfaceVersion: r.u8() };
}

/**
 * An unknown system_id gets the generic ESME_RBINDFAIL (many SMSCs do not reveal which logins
 * exist); a known one with the wrong password gets ESME_RINVPASWD.
 */
export function checkCredentials(accounts: readonly Account[], bind: BindRequest): number {
  const account = accounts.find((a) => a.systemId === bind.systemId);
  if (!account) return Status.ESME_RBINDFAIL;
  return account.password === bind.password ? Status.ESME_ROK : Status.ESME_RINVPASWD;
}

export const canSubmit = (mode: BindMode | null): boolean => mode === 'transmitter' || mode === 'transceiver';
export const canReceive = (mode: BindMode | null): boolean => mode === 'receiver' || mode === 'transceiver';
