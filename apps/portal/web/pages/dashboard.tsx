import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';
import { useEffect, useRef, useState } from 'preact/hooks';
import { get, type Me, query } from '../api';
import { addDays, dayISO, num, pct, STATUS_COLORS, STATUS_NAMES } from '../format';
import { link } from '../router';
import { Card, Empty, ErrorBox, Loading, Page, Stat, useData } from '../ui';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend);

interface Counts {
  messages: number;
  segments: number;
  byStatus: Record<string, number>;
}
interface Dashboard {
  timeZone: string;
  from: string;
  to: string;
  days: (Counts & { day: string })[];
  totals: Counts & { deliveryRate: number | null };
  bySender: (Counts & { sender: string })[];
  test: { days: (Counts & { day: string })[]; totals: Counts & { deliveryRate: number | null } };
}

const ORDER = ['2', '5', '0', '1', '8'];

function StatusChart({ days, testId }: { days: (Counts & { day: string })[]; testId: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!canvas.current) return;
    const chart = new Chart(canvas.current, {
      type: 'bar',
      data: {
        labels: days.map((d) => d.day.slice(5)),
        datasets: ORDER.map((s) => ({
          label: STATUS_NAMES[s]!,
          data: days.map((d) => d.byStatus[s] ?? 0),
          backgroundColor: STATUS_COLORS[s],
          borderRadius: 3,
          maxBarThickness: 48,
        })),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: 'index', intersect: false },
        scales: { x: { stacked: true, grid: { display: false } }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { position: 'bottom', labels: { boxWidth: 12, usePointStyle: true } } },
      },
    });
    return () => chart.destroy();
  }, [days]);
  return (
    <div class="chart" data-testid={testId} data-days={JSON.stringify(days.map((d) => [d.day, d.messages, d.byStatus['2'] ?? 0]))}>
      <canvas ref={canvas} role="img" aria-label="Messages per day by status" />
    </div>
  );
}

const PRESETS: [string, number][] = [
  ['Today', 1],
  ['7 days', 7],
  ['30 days', 30],
  ['90 days', 90],
];

export function DashboardPage({ partnerId, me }: { partnerId: number; me: Me }) {
  const today = dayISO(new Date());
  const [range, setRange] = useState({ from: addDays(today, -6), to: today });
  const pid = me.role === 'operator' ? partnerId : undefined;
  const { data, error, loading } = useData(() => get<Dashboard>(`/api/stats${query({ ...range, partnerId: pid })}`), [range.from, range.to, partnerId]);
  const yesterday = data?.days.find((d) => d.day === addDays(data.to, -1));

  return (
    <Page
      title="Dashboard"
      subtitle={data ? `Messages accepted ${data.from} – ${data.to}, days in ${data.timeZone}; status as of now` : 'Your traffic at a glance'}
      actions={
        <div class="range">
          {PRESETS.map(([label, n]) => (
            <button key={label} class={`btn small ${range.from === addDays(today, 1 - n) && range.to === today ? 'active' : 'ghost'}`} onClick={() => setRange({ from: addDays(today, 1 - n), to: today })}>
              {label}
            </button>
          ))}
          <input type="date" aria-label="From" value={range.from} max={range.to} onChange={(e) => setRange({ ...range, from: (e.target as HTMLInputElement).value })} />
          <span class="muted">–</span>
          <input type="date" aria-label="To" value={range.to} min={range.from} onChange={(e) => setRange({ ...range, to: (e.target as HTMLInputElement).value })} />
        </div>
      }
    >
      <ErrorBox error={error} />
      {loading && !data && <Loading />}
      {data && (
        <>
          <div class="stats">
            <Stat label="Messages" value={num(data.totals.messages)} hint={`${num(data.totals.segments)} segments`} testId="total-messages" />
            <Stat label="Delivered" value={num(data.totals.byStatus['2'] ?? 0)} tone="good" testId="total-delivered" hint={yesterday ? `yesterday (${yesterday.day}): ${num(yesterday.byStatus['2'] ?? 0)}` : undefined} />
            <Stat label="Not delivered" value={num(data.totals.byStatus['5'] ?? 0)} tone="bad" testId="total-undelivered" />
            <Stat label="In progress" value={num((data.totals.byStatus['0'] ?? 0) + (data.totals.byStatus['1'] ?? 0))} hint="accepted or with the operator" testId="total-pending" />
            <Stat label="Delivery rate" value={pct(data.totals.deliveryRate)} hint="delivered of those with a final status" testId="delivery-rate" />
          </div>

          <Card title="Messages per day by status">
            {data.totals.messages === 0 ? (
              <Empty title="No messages in this period">
                Messages you send through the API appear here within seconds. Try a longer period, or send one: <code>/send?serviceId=…&amp;pass=…&amp;clientId=…&amp;message=…</code>
              </Empty>
            ) : (
              <StatusChart days={data.days} testId="chart-live" />
            )}
          </Card>

          <div class="grid two wide-left">
            <Card title="By day">
              <div class="table-wrap">
                <table data-testid="days-table">
                  <thead>
                    <tr>
                      <th>Day</th>
                      <th class="num">Messages</th>
                      <th class="num">Segments</th>
                      <th class="num">Delivered</th>
                      <th class="num">Not delivered</th>
                      <th class="num">In progress</th>
                      <th class="num">Rate</th>
                    </tr>
                  </thead>
                  <tbody>
                    {[...data.days].reverse().map((d) => {
                      const done = (d.byStatus['2'] ?? 0) + (d.byStatus['5'] ?? 0);
                      return (
                        <tr key={d.day} data-day={d.day}>
                          <td class="nowrap">
                            <a {...link(`/messages${query({ from: d.day, to: d.day })}`)}>{d.day}</a>
                          </td>
                          <td class="num" data-col="messages">{num(d.messages)}</td>
                          <td class="num">{num(d.segments)}</td>
                          <td class="num" data-col="delivered">{num(d.byStatus['2'] ?? 0)}</td>
                          <td class="num">{num(d.byStatus['5'] ?? 0)}</td>
                          <td class="num">{num((d.byStatus['0'] ?? 0) + (d.byStatus['1'] ?? 0))}</td>
                          <td class="num">{done ? pct((d.byStatus['2'] ?? 0) / done) : '—'}</td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              </div>
            </Card>
            <Card title="By sender">
              {data.bySender.length === 0 ? (
                <Empty title="No senders yet" />
              ) : (
                <div class="table-wrap">
                  <table data-testid="senders-table">
                    <thead>
                      <tr>
                        <th>Sender</th>
                        <th class="num">Messages</th>
                        <th class="num">Segments</th>
                        <th class="num">Delivered</th>
                        <th class="num">Rate</th>
                      </tr>
                    </thead>
                    <tbody>
                      {data.bySender.map((s) => {
                        const done = (s.byStatus['2'] ?? 0) + (s.byStatus['5'] ?? 0);
                        return (
                          <tr key={s.sender}>
                            <td>
                              <a {...link(`/messages${query({ sender: s.sender, from: data.from, to: data.to })}`)}>{s.sender}</a>
                            </td>
                            <td class="num">{num(s.messages)}</td>
                            <td class="num">{num(s.segments)}</td>
                            <td class="num">{num(s.byStatus['2'] ?? 0)}</td>
                            <td class="num">{done ? pct((s.byStatus['2'] ?? 0) / done) : '—'}</td>
                          </tr>
                        );
                      })}
                    </tbody>
                  </table>
                </div>
              )}
            </Card>
          </div>

          <Card title="Test traffic" class="muted-card">
            {data.test.totals.messages === 0 ? (
              <p class="muted">No test-mode messages in this period. Test traffic is counted here, apart from the figures above.</p>
            ) : (
              <>
                <div class="stats small">
                  <Stat label="Test messages" value={num(data.test.totals.messages)} testId="test-messages" />
                  <Stat label="Delivered" value={num(data.test.totals.byStatus['2'] ?? 0)} tone="good" />
                  <Stat label="Not delivered" value={num(data.test.totals.byStatus['5'] ?? 0)} tone="bad" />
                  <Stat label="Delivery rate" value={pct(data.test.totals.deliveryRate)} />
                </div>
                <StatusChart days={data.test.days} testId="chart-test" />
              </>
            )}
          </Card>
        </>
      )}
    </Page>
  );
}
