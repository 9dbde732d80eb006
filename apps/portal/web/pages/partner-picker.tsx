import { useEffect, useState } from 'preact/hooks';
import { get, type Me } from '../api';

interface PartnerLite {
  id: number;
  login: string;
  name: string;
}

const KEY = 'smsgw.partnerId';

/** The partner an operator is looking at (remembered in this browser). */
export function usePartnerChoice(me: Me): [number | null, (id: number) => void] {
  const [id, setId] = useState<number | null>(() => {
    const v = Number(localStorage.getItem(KEY));
    return me.role === 'operator' && v > 0 ? v : null;
  });
  return [
    id,
    (v: number) => {
      localStorage.setItem(KEY, String(v));
      setId(v);
    },
  ];
}

let cache: Promise<PartnerLite[]> | null = null;
export function invalidatePartners(): void {
  cache = null;
}

export function PartnerPicker({ value, onChange }: { value: number | null; onChange: (id: number) => void }) {
  const [partners, setPartners] = useState<PartnerLite[]>([]);
  useEffect(() => {
    cache ??= get<PartnerLite[]>('/api/operator/partners');
    cache.then((list) => {
      setPartners(list);
      if ((value === null || !list.some((p) => p.id === value)) && list[0]) onChange(list[0].id);
    }, () => undefined);
  }, []);
  return (
    <label class="picker">
      <span class="muted">Partner</span>
      <select value={value ?? ''} onChange={(e) => onChange(Number((e.target as HTMLSelectElement).value))} data-testid="partner-picker">
        {partners.map((p) => (
          <option key={p.id} value={p.id}>
            {p.login}
            {p.name ? ` — ${p.name}` : ''}
          </option>
        ))}
      </select>
    </label>
  );
}

PartnerPicker.Prompt = function Prompt() {
  return <div class="card"><p>Choose a partner in the menu to see its account.</p></div>;
};
