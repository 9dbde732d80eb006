import * as http from 'node:http';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { Pool } from 'pg';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { hashApiPassword } from '@smsgw/db';
import { createTestDatabase, freePort } from '@smsgw/db/dist/testing';
import { createIngressApp } from '../src/bootstrap';
import { loadIngressConfig, type IngressConfig } from '../src/config';

export const PEPPER = 'test-pepper-0123456789';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A running ingress on a random port with its own database and Redis key prefix. */
export interface Ingress {
  app: NestFastifyApplication;
  port: number;
  pool: Pool;
  redis: Redis;
  config: IngressConfig;
  prefix: string;
  createPartner(settings?: Partial<PartnerSettings>): Promise<TestPartner>;
  updatePartner(id: number, sql: string, params?: unknown[]): Promise<void>;
  close(): Promise<void>;
}

export interface PartnerSettings {
  login: string;
  password: string;
  allowed_ips: string[];
  senders: string[];
  default_sender: string | null;
  dynamic_signature: boolean;
  request_param_names: Record<string, string>;
  rate_limit: number;
  validity_minutes: number;
  postponed_enabled: boolean;
  time_zone: string;
  default_country: string;
  duplicate_filter: boolean;
  duplicate_max: number;
  test_mode: boolean;
  test_quota: number;
  test_ends_at: Date | null;
  status: 'active' | 'blocked';
  polling_enabled: boolean;
}

export interface TestPartner {
  id: number;
  login: string;
  password: string;
}

let partnerCounter = 0;

export async function startIngress(env: Record<string, string> = {}): Promise<Ingress> {
  const db = await createTestDatabase();
  const prefix = `t${process.pid}_${randomBytes(3).toString('hex')}`;
  const config = loadIngressConfig({
    DATABASE_URL: db.url,
    REDIS_URL,
    REDIS_PREFIX: prefix,
    API_PASSWORD_PEPPER: PEPPER,
    INGRESS_PORT: '0',
    INGRESS_HOST: '::',
    LOG_LEVEL: 'silent',
    ...env,
  });
  const app = await createIngressApp(config);
  await app.listen({ port: 0, host: '::' });
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const pool = new Pool({ connectionString: db.url, max: 4 });
  pool.on('error', () => undefined); // the database is dropped at the end
  const redis = new Redis(REDIS_URL);

  const publishChange = async (id: number) => {
    await redis.publish(`${prefix}:partner-changed`, String(id));
    await new Promise((r) => setTimeout(r, 150));
  };

  return {
    app,
    port,
    pool,
    redis,
    config,
    prefix,
    async createPartner(settings = {}) {
      const s: PartnerSettings = {
        login: `p${++partnerCounter}_${randomBytes(2).toString('hex')}`,
        password: randomBytes(12).toString('base64url'),
        allowed_ips: ['127.0.0.1/32', '::1/128'],
        senders: ['TEST'],
        default_sender: 'TEST',
        dynamic_signature: false,
        request_param_names: {},
        rate_limit: 1000,
        validity_minutes: 1440,
        postponed_enabled: true,
        time_zone: 'Europe/Moscow',
        default_country: 'RU',
        duplicate_filter: false,
        duplicate_max: 1,
        test_mode: false,
        test_quota: 100,
        test_ends_at: null,
        status: 'active',
        polling_enabled: true,
        ...settings,
      };
      const { rows } = await pool.query<{ id: number }>(
        `INSERT INTO partner (login, api_password_hash, allowed_ips, senders, default_sender, dynamic_signature, request_param_names,
           rate_limit, validity_minutes, postponed_enabled, time_zone, default_country, duplicate_filter, duplicate_max, test_mode,
           test_quota, test_ends_at, status, polling_enabled)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19) RETURNING id`,
        [
          s.login, hashApiPassword(s.password, PEPPER), s.allowed_ips, s.senders, s.default_sender, s.dynamic_signature,
          JSON.stringify(s.request_param_names), s.rate_limit, s.validity_minutes, s.postponed_enabled, s.time_zone,
          s.default_country, s.duplicate_filter, s.duplicate_max, s.test_mode, s.test_quota, s.test_ends_at, s.status, s.polling_enabled,
        ],
      );
      const id = rows[0]!.id;
      await publishChange(id);
      return { id, login: s.login, password: s.password };
    },
    async updatePartner(id, sql, params = []) {
      await pool.query(`UPDATE partner SET ${sql}, updated_at = now() WHERE id = ${Number(id)}`, params);
      await publishChange(id);
    },
    async close() {
      await app.close();
      await pool.end();
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
      await db.drop();
    },
  };
}

export interface Response {
  status: number;
  body: string;
  contentType: string;
}

export interface RequestOptions {
  method?: 'GET' | 'POST';
  /** Raw query string or form body, sent as is (already encoded). */
  form?: string;
  host?: string;
  localAddress?: string;
  headers?: Record<string, string>;
}

/** One HTTP/1.1 request over a fresh connection, so a test chooses its source address. */
export function request(port: number, path: string, opts: RequestOptions = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const body = opts.method === 'POST' ? Buffer.from(opts.form ?? '', 'latin1') : undefined;
    const req = http.request(
      {
        host: opts.host ?? '127.0.0.1',
        port,
        path: opts.method === 'POST' ? path : `${path}${opts.form !== undefined ? `?${opts.form}` : ''}`,
        method: opts.method ?? 'GET',
        localAddress: opts.localAddress,
        agent: false,
        headers: {
          ...(body ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length) } : {}),
          ...opts.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), contentType: String(res.headers['content-type'] ?? '') }));
      },
    );
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

/** URL-encodes parameters the way a partner's HTTP library would. */
export function qs(params: Record<string, string | number | undefined>): string {
  return Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
}

export { freePort };
