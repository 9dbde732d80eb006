/** Query parameters of a partner's own URL that look like credentials. */
const CREDENTIAL = /^(pass|passwd|password|pwd|secret|token|key|apikey|api_key|api-key|access_token|auth|authorization|signature|sig)$/i;

/**
 * The URL as recorded in the attempt log: user info and credential-like parameters of the
 * partner's own query string replaced by `[redacted]`, everything else exactly as sent.
 */
export function redactCallbackUrl(url: string): string {
  const q = url.indexOf('?');
  let head = q < 0 ? url : url.slice(0, q);
  head = head.replace(/^(https?:\/\/)[^/@]*@/i, '$1[redacted]@');
  if (q < 0) return head;
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name);
      } catch {
        /* keep the raw name */
      }
      return eq >= 0 && CREDENTIAL.test(decoded) ? `${name}=[redacted]` : pair;
    })
    .join('&');
  return `${head}?${query}`;
}
