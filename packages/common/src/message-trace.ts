import { context, createContextKey, ROOT_CONTEXT, type Attributes, type Context, type Span, SpanKind, SpanStatusCode, trace, TraceFlags, type Tracer } from '@opentelemetry/api';

/**
 * Whether tracing runs in this process: set once by `startTracing` (./tracing), before the app's
 * modules load. Hot paths test this one field and do nothing more when it is false.
 */
export const tracing: { on: boolean } = { on: false };

/** The attribute naming the message a span is about, on every message span. */
export const MESSAGE_ID_ATTRIBUTE = 'smsgw.message_id';

const MESSAGE_ID = createContextKey('smsgw.message_id');
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

let cachedTracer: Tracer | null = null;
function tracer(): Tracer {
  return (cachedTracer ??= trace.getTracer('smsgw'));
}

/**
 * A span's W3C `traceparent`, to carry with a message (job data, its row), or undefined when the
 * span is not sampled: a message not sampled carries nothing, and the later stages do nothing for it.
 */
export function sampledTraceparent(span: Span | undefined): string | undefined {
  if (!span) return undefined;
  const c = span.spanContext();
  if ((c.traceFlags & TraceFlags.SAMPLED) === 0) return undefined;
  return `00-${c.traceId}-${c.spanId}-01`;
}

/** The context a carried `traceparent` names, or undefined when it is malformed. */
function parentContext(traceparent: string): Context | undefined {
  const m = TRACEPARENT.exec(traceparent);
  if (!m) return undefined;
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: m[1]!, spanId: m[2]!, traceFlags: parseInt(m[3]!, 16), isRemote: true });
}

export interface MessageSpanOptions {
  messageId: string;
  attributes?: Attributes;
  kind?: SpanKind;
  startTime?: number;
}

/**
 * Runs `fn` in a span of the message whose `traceparent` is given (a child of it), with the span
 * and the message id in the active context (spans of pg, ioredis and undici below it, and log
 * lines, are the message's). Without a traceparent (tracing off, the message not sampled, a job
 * queued before tracing was on) it runs `fn` alone.
 */
export async function inMessageSpan<T>(name: string, traceparent: string | undefined, options: MessageSpanOptions, fn: (span: Span | undefined) => Promise<T>): Promise<T> {
  const parent = traceparent && tracing.on ? parentContext(traceparent) : undefined;
  if (!parent) return fn(undefined);
  const span = tracer().startSpan(name, { kind: options.kind ?? SpanKind.CONSUMER, startTime: options.startTime, attributes: { ...options.attributes, [MESSAGE_ID_ATTRIBUTE]: options.messageId } }, parent);
  const ctx = trace.setSpan(parent, span).setValue(MESSAGE_ID, options.messageId);
  try {
    return await context.with(ctx, fn, undefined, span);
  } catch (e) {
    failSpan(span, e);
    throw e;
  } finally {
    span.end();
  }
}

/**
 * A span of a message that has ended already (a receipt settled with others in one statement),
 * child of its `traceparent`. Returns the new span's traceparent, for the next stage.
 */
export function recordMessageSpan(name: string, traceparent: string | null | undefined, options: MessageSpanOptions): string | undefined {
  const parent = traceparent && tracing.on ? parentContext(traceparent) : undefined;
  if (!parent) return undefined;
  const span = tracer().startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, startTime: options.startTime, attributes: { ...options.attributes, [MESSAGE_ID_ATTRIBUTE]: options.messageId } }, parent);
  span.end();
  return sampledTraceparent(span);
}

/**
 * A span under the active message span (none when there is none, or tracing is off): for a step
 * inside a message's stage, such as one segment's submit_sm. The caller ends it.
 */
export function startStepSpan(name: string, attributes: Attributes, kind: SpanKind = SpanKind.INTERNAL): Span | undefined {
  if (!tracing.on) return undefined;
  const active = context.active();
  if (active.getValue(MESSAGE_ID) === undefined) return undefined;
  return tracer().startSpan(name, { kind, attributes }, active);
}

/** Adds attributes to the active message span, if there is one (an outcome known deep in a stage). */
export function annotateMessageSpan(attributes: Attributes, error?: string): void {
  if (!tracing.on) return;
  const active = context.active();
  if (active.getValue(MESSAGE_ID) === undefined) return;
  const span = trace.getSpan(active);
  span?.setAttributes(attributes);
  if (error !== undefined) failSpan(span, error);
}

/** The traceparent of the active message span, when there is one and it is sampled. */
export function activeMessageTraceparent(): string | undefined {
  if (!tracing.on) return undefined;
  const active = context.active();
  return active.getValue(MESSAGE_ID) === undefined ? undefined : sampledTraceparent(trace.getSpan(active));
}

/**
 * The span a new message is accepted in (`/send`, `submit_sm`): a child of the active context (the
 * HTTP server span of `/send`), or a root that the sampler decides on. Undefined when tracing is off.
 */
export function startAcceptSpan(attributes: Attributes): Span | undefined {
  if (!tracing.on) return undefined;
  return tracer().startSpan('sms.accept', { kind: SpanKind.SERVER, attributes }, context.active());
}

/** Marks a span failed with the error's message. */
export function failSpan(span: Span | undefined, error: unknown): void {
  if (!span) return;
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/** Runs `fn` with `span` active (and the message id, for log lines), or just runs it without a span. */
export function withSpan<T>(span: Span | undefined, messageId: string | undefined, fn: () => T): T {
  if (!span) return fn();
  let ctx = trace.setSpan(context.active(), span);
  if (messageId !== undefined) ctx = ctx.setValue(MESSAGE_ID, messageId);
  return context.with(ctx, fn);
}

/**
 * pino's mixin while tracing is on: the active trace and span ids, and the message id where a
 * message is in context, on every log line written inside a span.
 */
export function traceLogFields(): Record<string, string> {
  const ctx = context.active();
  const span = trace.getSpan(ctx);
  if (!span) return {};
  const c = span.spanContext();
  const messageId = ctx.getValue(MESSAGE_ID);
  return messageId === undefined ? { trace_id: c.traceId, span_id: c.spanId } : { trace_id: c.traceId, span_id: c.spanId, messageId: String(messageId) };
}
