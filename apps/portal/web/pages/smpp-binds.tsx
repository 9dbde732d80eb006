import type { SmppBindState } from '@smsgw/contracts';
import { num, time } from '../format';
import { Badge, Card, usePoll } from '../ui';

/** As `SmppBinds` of the portal's API gives it. */
type SmppBind = SmppBindState & { server: string };

/** A rate over the server's last 10 s: a tenth below 10/s, whole numbers above; — from a server too old to say. */
const perSecond = (n: number | undefined) => (n === undefined ? '—' : n === 0 ? '0' : n < 10 ? n.toFixed(1) : num(Math.round(n)));

/** SMPP sessions now, from the SMPP servers' `/binds`, refreshed every 3 s. `showPartner`: a column for the partner (the operator's view of all). */
export function SmppBindsCard({ url, showPartner }: { url: string; showPartner: boolean }) {
  const live = usePoll<{ binds: SmppBind[]; unreachable: string[] }>(url);
  return (
    <Card title="SMPP binds">
      {live && live.unreachable.length > 0 && <div class="alert warn">SMPP server not reachable at {live.unreachable.join(', ')}: its binds are unknown.</div>}
      {live && live.binds.length === 0 && <p class="muted">{live.unreachable.length > 0 ? 'No SMPP session is bound on the servers that answered.' : 'No SMPP session is bound now.'}</p>}
      {live && live.binds.length > 0 && (
        <div class="table-wrap">
          <table data-testid="smpp-binds">
            <thead>
              <tr>
                {showPartner && <th>Partner</th>}
                <th>Bind</th>
                <th>From</th>
                <th>Since</th>
                <th class="num" title="submit_sm unanswered now / SMPP window">
                  Window
                </th>
                <th class="num">Stored</th>
                <th class="num">Refused</th>
                <th class="num" title="submit_sm answered (stored or refused) per second, over the last 10 s">
                  Submits/s
                </th>
                <th class="num" title="deliver_sm (reports, MO) acknowledged by the partner; failed: refused, unanswered or the bind ended">
                  Delivered
                </th>
                <th class="num" title="deliver_sm settled (acknowledged or failed) per second, over the last 10 s">
                  Delivers/s
                </th>
              </tr>
            </thead>
            <tbody>
              {live.binds.map((b) => (
                <tr key={`${b.server}|${b.remote}|${b.boundAt}`}>
                  {showPartner && <td>{b.login}</td>}
                  <td>
                    <Badge tone="good">{b.mode}</Badge>
                  </td>
                  <td class="nowrap">{b.remote}</td>
                  <td class="nowrap">{time(b.boundAt)}</td>
                  <td class="num">
                    {b.inFlight}/{b.window}
                  </td>
                  <td class="num">{num(b.accepted)}</td>
                  <td class="num">{num(b.refused)}</td>
                  <td class="num">{perSecond(b.submitsPerSecond)}</td>
                  <td class="num nowrap">
                    {b.delivered === undefined ? '—' : num(b.delivered)}
                    {b.deliverFailed > 0 && <span class="muted small"> / {num(b.deliverFailed)} failed</span>}
                  </td>
                  <td class="num">{perSecond(b.deliversPerSecond)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}
