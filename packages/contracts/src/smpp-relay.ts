import { z } from 'zod';

/**
 * Reports and MO over SMPP (docs/architecture.md, "Reports and MO over the bind"). A partner whose
 * status or MO URL is `smpp:` gets them as deliver_sm on its receiver and transceiver binds. The
 * callback worker keeps doing everything else (order, retries, records); the SMPP server holding
 * a bind of the partner sends the deliver_sm and answers once the partner acknowledged it.
 */

/**
 * Hash of the SMPP server instances holding receiver or transceiver binds of a partner: field =
 * the instance's relay URL, value = until when (ms since the epoch) the entry holds unless
 * refreshed.
 */
export function smppReceiversKey(prefix: string, partnerId: number): string {
  return `${prefix}:smpp:rx:${partnerId}`;
}

/** An entry of `smppReceiversKey` lasts this long unless its instance refreshes it (every third of it). */
export const SMPP_RECEIVER_TTL_MS = 15_000;

/** Pub/sub channel: a partner (its id) bound as receiver or transceiver; its waiting reports and MO are due now. */
export function smppBoundChannel(prefix: string): string {
  return `${prefix}:smpp:bound`;
}

/** The relay's path on the SMPP server's internal HTTP port. */
export const SMPP_RELAY_PATH = '/deliver';

export const smppRelayItemSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('dlr'),
    messageId: z.string().regex(/^[0-9]{1,20}$/),
    status: z.number().int(),
    extStatus: z.number().int().nullable(),
    msisdn: z.string().max(20),
    sender: z.string().max(20),
    submitDate: z.iso.datetime({ offset: true }),
    doneDate: z.iso.datetime({ offset: true }),
    text: z.string().nullable(),
  }),
  z.object({
    kind: z.literal('mo'),
    moId: z.string().regex(/^[0-9]{1,20}$/),
    msisdn: z.string().max(20),
    serviceNumber: z.string().max(20),
    text: z.string().max(10_000),
  }),
]);
export type SmppRelayItem = z.infer<typeof smppRelayItemSchema>;

/** Most reports and MO in one relay request. */
export const SMPP_RELAY_MAX_BATCH = 500;

/**
 * One relay request: the reports and MO a worker had for one SMPP server instance at one moment,
 * each answered in `results`, in order, once its partner acknowledged it or it failed.
 */
export const smppRelayRequestSchema = z.object({
  /** How long the SMPP server waits for a partner's deliver_sm_resp. */
  timeoutMs: z.number().int().min(1).max(600_000),
  // Each item is checked on its own (smppRelayItemSchema), so that one the server cannot take
  // fails alone, not its whole batch.
  items: z
    .array(z.object({ partnerId: z.number().int().positive(), item: z.unknown() }))
    .min(1)
    .max(SMPP_RELAY_MAX_BATCH),
});
export interface SmppRelayRequest {
  timeoutMs: number;
  items: { partnerId: number; item: SmppRelayItem }[];
}

/** The relay's answer for one item: acknowledged by the partner, or why not (as an attempt's error). */
export type SmppRelayResult = { ok: true } | { ok: false; error: string };
export interface SmppRelayResponse {
  results: SmppRelayResult[];
}
