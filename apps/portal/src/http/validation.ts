import { BadRequestException } from '@nestjs/common';
import type { z } from 'zod';

/** Parses a request body or query with a zod schema; 400 naming the first bad field. */
export function parseBody<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.join('.');
  throw new BadRequestException({ message: field ? `${field}: ${issue.message}` : issue.message, field: field || undefined });
}
