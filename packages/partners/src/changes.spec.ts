import { partnerPublicView } from './changes';

describe('partnerPublicView', () => {
  const row = { id: 7, login: 'acme', apiPasswordHash: 'a1'.repeat(32), smppPasswordHash: 'b2'.repeat(32), smppMaxBinds: 4, signingSecret: 'xyz', rateLimit: 10 };

  it('shows neither password hash, says whether SMPP binds are allowed, hides the signing secret', () => {
    const view = partnerPublicView(row);
    expect(view).toEqual({ id: 7, login: 'acme', smppEnabled: true, smppMaxBinds: 4, signingSecret: '(set)', rateLimit: 10 });
    expect(JSON.stringify(view)).not.toMatch(/a1a1|b2b2|PasswordHash/);
  });

  it('a partner without an SMPP password has SMPP disabled', () => {
    expect(partnerPublicView({ ...row, smppPasswordHash: null })).toMatchObject({ smppEnabled: false });
    expect(partnerPublicView({ ...row, smppPasswordHash: null })).not.toHaveProperty('smppPasswordHash');
  });
});
