import { redactCallbackUrl } from './redact-url';

describe('redactCallbackUrl', () => {
  it('hides credentials of the partner URL and keeps the rest as sent', () => {
    expect(redactCallbackUrl('https://u:p@partner.example/dlr?token=abc&x=1&API_KEY=z&transactionId=5&hash=a%2Bb')).toBe(
      'https://[redacted]@partner.example/dlr?token=[redacted]&x=1&API_KEY=[redacted]&transactionId=5&hash=a%2Bb',
    );
    expect(redactCallbackUrl('http://p.example/dlr')).toBe('http://p.example/dlr');
  });
});
