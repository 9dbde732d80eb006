import {
  apiPasswordPepper,
  DEV_API_PASSWORD_PEPPER,
  DevelopmentSecretError,
  generateApiPassword,
  generateSmppPassword,
  hashApiPassword,
  hashUserPassword,
  refuseDevelopmentPepper,
  SMPP_PASSWORD_MAX_LENGTH,
  smppPasswordProblem,
  userPasswordNeedsRehash,
  verifyApiPassword,
  verifyUserPassword,
} from './passwords';

describe('API passwords', () => {
  it('hashes as hex HMAC-SHA256 keyed with the pepper (RFC 4231 test case 2)', () => {
    expect(hashApiPassword('what do ya want for nothing?', 'Jefe')).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });

  it('depends on the pepper', () => {
    expect(hashApiPassword('demo-pass', 'pepper-one')).not.toBe(hashApiPassword('demo-pass', 'pepper-two'));
  });

  it('verifies the right password only, with the right pepper only', () => {
    const hash = hashApiPassword('s3cret', 'pepper');
    expect(verifyApiPassword('s3cret', hash, 'pepper')).toBe(true);
    expect(verifyApiPassword('s3cret ', hash, 'pepper')).toBe(false);
    expect(verifyApiPassword('s3cret', hash, 'other')).toBe(false);
    expect(verifyApiPassword('s3cret', 'not-hex', 'pepper')).toBe(false);
    expect(verifyApiPassword('s3cret', '', 'pepper')).toBe(false);
  });

  it('generates 24 random bytes as base64url', () => {
    const passwords = new Set(Array.from({ length: 50 }, generateApiPassword));
    expect(passwords.size).toBe(50);
    for (const password of passwords) {
      expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(Buffer.from(password, 'base64url')).toHaveLength(24);
    }
  });

  it('takes the pepper from API_PASSWORD_PEPPER, with a development default', () => {
    const saved = process.env.API_PASSWORD_PEPPER;
    try {
      delete process.env.API_PASSWORD_PEPPER;
      expect(apiPasswordPepper()).toBe(DEV_API_PASSWORD_PEPPER);
      expect(DEV_API_PASSWORD_PEPPER).toBe('dev-pepper-change-me');
      process.env.API_PASSWORD_PEPPER = 'production-secret';
      expect(apiPasswordPepper()).toBe('production-secret');
    } finally {
      if (saved === undefined) delete process.env.API_PASSWORD_PEPPER;
      else process.env.API_PASSWORD_PEPPER = saved;
    }
  });
});

describe('SMPP passwords', () => {
  it('generates 8 random letters and digits', () => {
    expect(SMPP_PASSWORD_MAX_LENGTH).toBe(8);
    const passwords = Array.from({ length: 200 }, generateSmppPassword);
    expect(new Set(passwords).size).toBe(200);
    for (const password of passwords) {
      expect(password).toMatch(/^[A-Za-z0-9]{8}$/);
      expect(smppPasswordProblem(password)).toBeNull();
    }
    // Every kind of character turns up: the whole alphabet is drawn from.
    const all = passwords.join('');
    for (const kind of [/[A-Z]/, /[a-z]/, /[0-9]/]) expect(all).toMatch(kind);
  });

  it('accepts 1 to 8 printable ASCII characters, says what is wrong with anything else', () => {
    for (const ok of ['a', 'Xq7#pw9!', '!~{}[]()', '12345678']) expect(smppPasswordProblem(ok)).toBeNull();
    expect(smppPasswordProblem('')).toBe('the SMPP password is empty: give 1 to 8 characters');
    expect(smppPasswordProblem('ninechars')).toBe('the SMPP password has 9 characters: SMPP 3.4 allows at most 8');
    const charset = 'the SMPP password may only have printable ASCII characters, without spaces (! to ~)';
    for (const bad of ['two word', ' lead', 'tab\there', 'caf\u00e9', 'nul\u0000', 'del\u007f']) expect(smppPasswordProblem(bad)).toBe(charset);
  });

  it('are hashed and verified as API passwords are', () => {
    const password = generateSmppPassword();
    const hash = hashApiPassword(password, 'pepper');
    expect(verifyApiPassword(password, hash, 'pepper')).toBe(true);
    expect(verifyApiPassword(password.slice(0, 7), hash, 'pepper')).toBe(false);
  });
});

describe('the development pepper in production', () => {
  it('is refused when NODE_ENV=production, given or defaulted; anything else passes', () => {
    const prod = { NODE_ENV: 'production' };
    expect(() => apiPasswordPepper(prod)).toThrow(DevelopmentSecretError);
    expect(() => apiPasswordPepper({ ...prod, API_PASSWORD_PEPPER: DEV_API_PASSWORD_PEPPER })).toThrow(/^API_PASSWORD_PEPPER is the development default \(dev-pepper-change-me\) and NODE_ENV=production: set it/);
    expect(() => refuseDevelopmentPepper(undefined, prod)).toThrow(/^API_PASSWORD_PEPPER is not set and NODE_ENV=production/);
    expect(apiPasswordPepper({ ...prod, API_PASSWORD_PEPPER: 'a-secret-of-our-own' })).toBe('a-secret-of-our-own');
    // Development (NODE_ENV unset or anything but production) keeps the default.
    expect(apiPasswordPepper({})).toBe(DEV_API_PASSWORD_PEPPER);
    expect(apiPasswordPepper({ NODE_ENV: 'development' })).toBe(DEV_API_PASSWORD_PEPPER);
    expect(apiPasswordPepper({ NODE_ENV: 'test' })).toBe(DEV_API_PASSWORD_PEPPER);
  });
});

describe('user passwords (scrypt)', () => {
  it('stores scrypt$N$r$p$salt$hash and verifies only the right password', async () => {
    const stored = await hashUserPassword('correct horse battery staple');
    expect(stored).toMatch(/^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    await expect(verifyUserPassword('correct horse battery staple', stored)).resolves.toBe(true);
    await expect(verifyUserPassword('correct horse battery stapl', stored)).resolves.toBe(false);
    await expect(verifyUserPassword('', stored)).resolves.toBe(false);
  });

  it('salts every hash', async () => {
    const [a, b] = await Promise.all([hashUserPassword('same'), hashUserPassword('same')]);
    expect(a).not.toBe(b);
    await expect(verifyUserPassword('same', a)).resolves.toBe(true);
    await expect(verifyUserPassword('same', b)).resolves.toBe(true);
  });

  it('treats Unicode compositions of the same text alike', async () => {
    const stored = await hashUserPassword('caf\u00e9');
    await expect(verifyUserPassword('cafe\u0301', stored)).resolves.toBe(true);
  });

  it('verifies with the parameters stored in the hash', async () => {
    const { scryptSync } = await import('node:crypto');
    const salt = Buffer.from('0123456789abcdef');
    const key = scryptSync('old', salt, 32, { N: 1024, r: 8, p: 1 });
    const stored = `scrypt$1024$8$1$${salt.toString('base64url')}$${key.toString('base64url')}`;
    await expect(verifyUserPassword('old', stored)).resolves.toBe(true);
    expect(userPasswordNeedsRehash(stored)).toBe(true);
    expect(userPasswordNeedsRehash(await hashUserPassword('new'))).toBe(false);
  });

  it('rejects malformed or unreasonable hashes instead of throwing', async () => {
    const stored = await hashUserPassword('pw');
    const [, , r, p, salt, hash] = stored.split('$');
    for (const bad of [
      '',
      'plain-text',
      stored.replace(/^scrypt/, 'bcrypt'),
      `scrypt$1000$${r}$${p}$${salt}$${hash}`, // N not a power of two
      `scrypt$${2 ** 30}$${r}$${p}$${salt}$${hash}`, // would need gigabytes
      `scrypt$16384$${r}$${p}$$${hash}`, // no salt
      `${stored}$extra`,
    ]) {
      await expect(verifyUserPassword('pw', bad)).resolves.toBe(false);
    }
  });
});
