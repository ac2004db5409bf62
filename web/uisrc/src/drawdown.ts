// Drawdown series from equity snapshots, computed exactly (BigInt decimals) as the read model
// does (portfolio.TotalCurve, portfolio.MaxDrawdown): a curve's value at each snapshot is
// equity − capital + the first snapshot's capital, so capital moved in or out (a rebalance, a
// distribution paid out) is neither a gain nor a loss; the total's curve is, at each time a
// snapshot was taken, the sum of every agent's newest value then; and a point's drawdown is
// (running peak − value) ÷ running peak, rounded half-to-even to 6 decimals.
import { parseDec, sumDec } from "./format";

/** EquityPoint is the part of an equity snapshot (streams.EquitySnapshot) a curve needs. */
export interface EquityPoint {
  agent: string;
  time: number; // epoch ms
  capital: string;
  equity: string;
}

/** DrawdownPoint is a curve's value and its drawdown (a fraction, 6 decimals) at a time. */
export interface DrawdownPoint {
  time: number;
  value: string;
  drawdown: string;
}

const neg = (s: string) => (s.startsWith("-") ? s.slice(1) : "-" + s);

/** drawdown is (peak − value) ÷ peak rounded half-to-even to 6 decimals, "0" when the value
 * is at or above a positive peak (portfolio.Drawdown). */
export function drawdown(peak: string, value: string): string {
  const p = parseDec(peak);
  const v = parseDec(value);
  if (!p || !v) return "0";
  const s = Math.max(p.scale, v.scale);
  const P = p.n * 10n ** BigInt(s - p.scale);
  const V = v.n * 10n ** BigInt(s - v.scale);
  if (P <= 0n || V >= P) return "0";
  const num = (P - V) * 1_000_000n;
  let q = num / P;
  const twice = (num % P) * 2n;
  if (twice > P || (twice === P && q % 2n === 1n)) q += 1n;
  const d = q.toString().padStart(7, "0");
  return `${d.slice(0, -6)}.${d.slice(-6)}`;
}

/** withDrawdown adds each point's drawdown from the running peak (the first of equals). */
function withDrawdown(curve: { time: number; value: string }[]): DrawdownPoint[] {
  let peak = "";
  return curve.map((c) => {
    if (peak === "" || Number(sumDec([c.value, neg(peak)])) > 0) peak = c.value;
    return { ...c, drawdown: drawdown(peak, c.value) };
  });
}

/** totalCurve is the curve of every snapshot given (one agent's or several), as
 * portfolio.TotalCurve builds it, with each point's drawdown. */
export function totalCurve(snaps: EquityPoint[]): DrawdownPoint[] {
  const sorted = [...snaps].sort((a, b) => a.time - b.time || (a.agent < b.agent ? -1 : a.agent > b.agent ? 1 : 0));
  const first = new Map<string, string>(); // each agent's first capital
  const value = new Map<string, string>(); // each agent's newest value
  const curve: { time: number; value: string }[] = [];
  sorted.forEach((s, i) => {
    if (!first.has(s.agent)) first.set(s.agent, s.capital);
    value.set(s.agent, sumDec([s.equity, neg(s.capital), first.get(s.agent)]));
    if (i + 1 < sorted.length && sorted[i + 1].time === s.time) return; // the other agents' snapshots of this time first
    curve.push({ time: s.time, value: sumDec([...value.values()]) });
  });
  return withDrawdown(curve);
}

/** maxDrawdown is the deepest drawdown of a series ("0" when it has none). */
export function maxDrawdown(series: DrawdownPoint[]): string {
  let deepest = "0";
  for (const p of series) if (Number(sumDec([p.drawdown, neg(deepest)])) > 0) deepest = p.drawdown;
  return deepest;
}
