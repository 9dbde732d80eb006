import { createHmac, randomBytes, randomInt, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** Development default only: every deployment must set API_PASSWORD_PEPPER to its own secret. */
export const DEV_API_PASSWORD_PEPPER = 'dev-pepper-change-me';

/** A development default met in production (NODE_ENV=production); the message says what to do. */
export class DevelopmentSecretError extends Error {}

/**
 * Production refuses the development pepper, set or defaulted: with it, anyone who reads the
 * source can test guessed passwords against a stolen database offline.
 */
export function refuseDevelopmentPepper(pepper: string | undefined, env: NodeJS.ProcessEnv = process.env): void {
  if (env.NODE_ENV !== 'production' || (pepper && pepper !== DEV_API_PASSWORD_PEPPER)) return;
  throw new DevelopmentSecretError(
    `API_PASSWORD_PEPPER is ${pepper ? `the development default (${DEV_API_PASSWORD_PEPPER})` : 'not set'} and NODE_ENV=production: ` +
      'set it to a long random secret of your own (e.g. openssl rand -base64 32), the same for every service and the CLI',
  );
}

/**
 * The key of the API password hash, from API_PASSWORD_PEPPER. Production must set it (and keep
 * it: changing it invalidates every stored API password hash); the default is for development,
 * and production refuses it.
 */
export function apiPasswordPepper(env: NodeJS.ProcessEnv = process.env): string {
  const pepper = env.API_PASSWORD_PEPPER || DEV_API_PASSWORD_PEPPER;
  refuseDevelopmentPepper(pepper, env);
  return pepper;
}

/**
 * API passwords are random and high-entropy (PROTOCOL "Credentials"), so a keyed fast hash is
 * enough and cheap to check on every request: hex HMAC-SHA256 keyed with the pepper.
 */
export function hashApiPassword(password: string, pepper: string): string {
  return createHmac('sha256', pepper).update(password, 'utf8').digest('hex');
}

/** Constant-time check of a presented API password against a stored hashApiPassword() hash. */
export function verifyApiPassword(password: string, storedHash: string, pepper: string): boolean {
  const presented = Buffer.from(hashApiPassword(password, pepper), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}

/** A new API password: 24 random bytes, base64url (32 characters, URL-safe). */
export function generateApiPassword(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * SMPP 3.4 caps bind_transmitter/receiver/transceiver's password at 9 octets with the NUL, so a
 * partner's SMPP password is its own, shorter secret, hashed with hashApiPassword().
 */
export const SMPP_PASSWORD_MAX_LENGTH = 8;

const SMPP_PASSWORD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A new SMPP password: 8 letters and digits (about 47 bits), each drawn with crypto.randomInt. */
export function generateSmppPassword(): string {
  let password = '';
  for (let i = 0; i < SMPP_PASSWORD_MAX_LENGTH; i++) password += SMPP_PASSWORD_ALPHABET[randomInt(SMPP_PASSWORD_ALPHABET.length)];
  return password;
}

/** Why `password` cannot be an SMPP password (1-8 characters of printable ASCII, no space), or null. */
export function smppPasswordProblem(password: string): string | null {
  if (password.length === 0) return 'the SMPP password is empty: give 1 to 8 characters';
  if (password.length > SMPP_PASSWORD_MAX_LENGTH) return `the SMPP password has ${password.length} characters: SMPP 3.4 allows at most ${SMPP_PASSWORD_MAX_LENGTH}`;
  if (!/^[\x21-\x7e]+$/.test(password)) return 'the SMPP password may only have printable ASCII characters, without spaces (! to ~)';
  return null;
}

// Portal users choose their own passwords, so those get a slow, salted hash.
const SCRYPT_N = 2 ** 15;
const SCRYPT_R = 8;
const SCRYPT_P = 1;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
const MAX_N = 2 ** 20; // refuse stored parameters that would take unbounded memory

function scrypt(password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCallback(password.normalize('NFC'), salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

function scryptMemory(N: number, r: number, p: number): number {
  return 128 * r * (N + p + 2) + 1024 * 1024; // what node's scrypt needs, plus slack
}

/** Hashes a human password as `scrypt$N$r$p$salt$hash` (salt and hash base64url). */
export async function hashUserPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scrypt(password, salt, KEY_BYTES, {
    N: SCRYPT_N,
    r: SCRYPT_R,
    p: SCRYPT_P,
    maxmem: scryptMemory(SCRYPT_N, SCRYPT_R, SCRYPT_P),
  });
  return ['scrypt', SCRYPT_N, SCRYPT_R, SCRYPT_P, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Checks a password against a hashUserPassword() string; false for a wrong password or a malformed hash. */
export async function verifyUserPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  const valid = (n: number) => Number.isSafeInteger(n) && n > 0;
  if (!valid(N) || !valid(r) || !valid(p) || N > MAX_N || (N & (N - 1)) !== 0 || r * p >= 2 ** 30) return false;
  const salt = Buffer.from(parts[4], 'base64url');
  const expected = Buffer.from(parts[5], 'base64url');
  if (salt.length === 0 || expected.length < 16) return false;
  const key = await scrypt(password, salt, expected.length, { N, r, p, maxmem: scryptMemory(N, r, p) });
  return timingSafeEqual(key, expected);
}

/** True when a stored hash uses weaker parameters than new hashes do (rehash at next login). */
export function userPasswordNeedsRehash(stored: string): boolean {
  const [scheme, N, r, p] = stored.split('$');
  return scheme !== 'scrypt' || Number(N) < SCRYPT_N || Number(r) < SCRYPT_R || Number(p) < SCRYPT_P;
}
