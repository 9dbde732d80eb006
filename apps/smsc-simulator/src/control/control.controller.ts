import { BadRequestException, Body, ConflictException, Controller, Get, HttpCode, Post, Put, Query } from '@nestjs/common';
import type { z } from 'zod';
import { MoInputError } from '../mo/mo-segments';
import { NoReceiverError, type MoResult } from '../mo/mo.service';
import type { ReceiptRule } from '../receipts/receipt-outcome';
import type { RuntimeSettings } from '../state/runtime-settings';
import type { SubmitRecord } from '../submits/submit-record';
import { moBatchSchema, moRequestSchema, rulesSchema, settingsPatchSchema, submitsQuerySchema } from './control.schemas';
import { type CountersView, SimulatorControl } from './simulator-control';

function parse<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input ?? {});
  if (!result.success) {
    throw new BadRequestException({
      error: 'invalid request',
      issues: result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`),
    });
  }
  return result.data;
}

/** An injection's errors as HTTP: 400 for what cannot be sent as asked, 409 when no receiver is bound. */
function moAnswer<T>(inject: () => T): T {
  try {
    return inject();
  } catch (e) {
    if (e instanceof MoInputError) throw new BadRequestException({ error: e.message });
    if (e instanceof NoReceiverError) throw new ConflictException({ error: e.message });
    throw e;
  }
}

/** The HTTP control API: JSON in, JSON out. */
@Controller()
export class ControlController {
  constructor(private readonly control: SimulatorControl) {}

  @Post('mo')
  @HttpCode(200)
  injectMo(@Body() body: unknown): MoResult {
    const request = parse(moRequestSchema, body);
    return moAnswer(() => this.control.injectMo(request));
  }

  /**
   * Several MO in one request, each as `POST /mo` would send it: for load, where an HTTP request per
   * MO would cost the machine more than the MO. All or nothing: every message is checked (and a
   * receiver looked for) before any is sent.
   */
  @Post('mo/batch')
  @HttpCode(200)
  injectMoBatch(@Body() body: unknown): { results: MoResult[] } {
    const { messages } = parse(moBatchSchema, body);
    return moAnswer(() => ({ results: this.control.injectMoBatch(messages) }));
  }

  @Get('counters')
  counters(): CountersView {
    return this.control.getCounters();
  }

  @Get('submits')
  submits(@Query() query: unknown): SubmitRecord[] {
    const { limit, dest } = parse(submitsQuerySchema, query);
    return this.control.getSubmits(limit, dest);
  }

  @Get('rules')
  rules(): { rules: ReceiptRule[] } {
    return { rules: this.control.getRules() };
  }

  /** Replaces the whole rule set. */
  @Post('rules')
  @HttpCode(200)
  setRules(@Body() body: unknown): { rules: ReceiptRule[] } {
    this.control.setRules(parse(rulesSchema, body).rules);
    return { rules: this.control.getRules() };
  }

  @Get('config')
  settings(): RuntimeSettings {
    return this.control.getSettings();
  }

  @Put('config')
  updateSettings(@Body() body: unknown): RuntimeSettings {
    return this.control.updateSettings(parse(settingsPatchSchema, body));
  }

  @Post('reset')
  @HttpCode(200)
  reset(): { reset: true } {
    this.control.reset();
    return { reset: true };
  }
}
