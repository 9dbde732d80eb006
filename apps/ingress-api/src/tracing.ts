// First import of main.ts: tracing, when the OTEL_* variables turn it on, must patch pg, ioredis,
// undici and http before any of the app's modules loads them.
import { startTracing } from '@smsgw/common/dist/tracing';

// Its HTTP clients are outsiders: a traceparent they send is not taken.
startTracing('ingress-api', process.env, { untrustedClients: true });
