import { concatReference } from './concat-reference';

describe('concatReference', () => {
  it('is the same for a message on every run, 0..255, and differs between consecutive ids', () => {
    expect(concatReference('123456')).toBe(concatReference('123456'));
    const refs = Array.from({ length: 64 }, (_, i) => concatReference(String(1000 + i)));
    for (const r of refs) expect(r >= 0 && r <= 255).toBe(true);
    expect(new Set(refs).size).toBeGreaterThan(55);
    expect(concatReference('9223372036854775807')).toBeLessThanOrEqual(255);
  });
});
