import { z } from 'zod';
import { ID_FORMATS, parseOutcomes, RECEIPT_STATS } from '../config';

/** Printable ASCII, as SMPP addresses are C-octet strings of at most 20 characters. */
const address = z.string().regex(/^[\x21-\x7e]{1,20}$/, 'expected 1-20 printable ASCII characters');

export const moRequestSchema = z.object({
  from: address,
  to: address,
  text: z.string().min(1).max(10_000),
  systemId: z.string().min(1).optional(),
  encoding: z.enum(['auto', 'gsm7', 'ucs2', 'latin1']).default('auto'),
  concat: z.enum(['udh8', 'udh16', 'sar']).default('udh8'),
  outOfOrder: z.boolean().default(false),
  dropSegment: z.number().int().min(1).optional(),
});

/** Many MO in one request (a load generator's): each as `POST /mo` takes it, sent in this order. */
export const moBatchSchema = z.object({ messages: z.array(moRequestSchema).min(1).max(1000) });

export const rulesSchema = z.object({
  rules: z
    .array(
      z.object({
        suffix: z.string().min(1).max(20),
        stat: z.enum([...RECEIPT_STATS, 'NONE']),
        err: z.number().int().min(0).max(999).default(0),
        delayMs: z.number().int().min(0).optional(),
      }),
    )
    .max(10_000),
});

const outcomeShare = z.object({
  stat: z.enum(RECEIPT_STATS),
  err: z.number().int().min(0).max(999).default(0),
  weight: z.number().min(0),
});

/** The outcome mix as in SIM_OUTCOMES (`"DELIVRD=0.9,UNDELIV:001=0.1"`) or as a list. */
const outcomes = z.union([
  z.string().transform((s, ctx) => {
    const parsed = parseOutcomes(s);
    if (parsed.ok) return parsed.value;
    ctx.addIssue(parsed.error);
    return z.NEVER;
  }),
  z.array(outcomeShare).refine((list) => list.some((s) => s.weight > 0), 'outcome weights must not all be zero'),
]);

export const settingsPatchSchema = z
  .object({
    dlrDelayMs: z.number().int().min(0),
    outcomes,
    tps: z.number().int().min(0),
    window: z.number().int().min(1),
    responseDelayMs: z.number().int().min(0),
    idFormat: z.enum(ID_FORMATS),
  })
  .partial()
  .strict();

export const submitsQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100_000).default(100),
  dest: z.string().min(1).optional(),
});
