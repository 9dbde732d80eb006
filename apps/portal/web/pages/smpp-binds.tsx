import type { SmppBindState } from '@smsgw/contracts';
import { num, time } from '../format';
import { Badge, Card, usePoll } from '../ui';

/** As `SmppBinds` of the portal's API gives it. */
type SmppBind = SmppBindState & { server: string };

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
                <th class="num">In flight / window</th>
                <th class="num">Stored</th>
                <th class="num">Refused</th>
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
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}
