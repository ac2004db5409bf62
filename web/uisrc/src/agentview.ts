// What an agent shows (actors.AgentView as JSON) and how the Agents page and the backtest
// report draw it: state badges, figures and tables, with every decimal shown exactly.
import { esc, dl, int, time, money, exact, percent, returnPct, pct, arrow, upDown, parseDec } from "./format";
import type { CurvePoint } from "./charts";

export type AgentState = "ACTIVE" | "REDUCING" | "HALTED";

export interface Totals {
  capital: string;
  cash: string;
  equity: string;
  exposure: string;
  realized: string;
  unrealized: string;
  fees: string;
  peak: string;
  drawdown: string;
  fills: number;
}

export interface Position {
  venue: string;
  symbol: string;
  qty: string;
  cost: string;
  realized: string;
  fees: string;
  mark: string;
  fills: number;
}

export interface OrderEvent {
  type: string;
  client_order_id: string;
  venue_order_id?: string;
  agent: string;
  venue: string;
  symbol: string;
  side: string;
  order_type: string;
  qty: string;
  price?: string;
  reduce_only?: boolean;
  trade_id?: string;
  fill_qty?: string;
  fill_price?: string;
  fee?: string;
  cum_qty?: string;
  reason?: string;
  source?: string;
  time: number;
}

export interface AgentView {
  name: string;
  profile: string;
  execution: string;
  models: string[] | null;
  state: AgentState;
  reason?: string;
  totals: Totals;
  positions: Position[] | null;
  open_orders: number;
  signals: number;
  intents: number;
  fills: number;
  rejected: number;
  last_order?: OrderEvent;
  event_time: number;
  max_drawdown: string;
  curve: CurvePoint[] | null;
  limits?: Limits; // its risk limits as configured (actors.Limits)
  drawdown_halt?: string; // the drawdown at which it halts itself (its max_drawdown setting)
}

/** Limits are an agent's risk limits, the risk gate's pre-trade checks (exact decimals). */
export interface Limits {
  max_order_notional: string;
  max_position_notional: string;
  price_band: string;
  max_open_orders: number;
  orders_per_minute: number;
}

/** mulDec multiplies two decimal strings exactly (BigInt); "" when one is not a decimal. */
function mulDec(a: string, b: string): string {
  const x = parseDec(a);
  const y = parseDec(b);
  if (!x || !y) return "";
  const n = x.n * y.n;
  const scale = x.scale + y.scale;
  const digits = (n < 0n ? -n : n).toString().padStart(scale + 1, "0");
  return (n < 0n ? "-" : "") + digits.slice(0, digits.length - scale) + (scale ? "." + digits.slice(digits.length - scale) : "");
}

/** NEAR is the share of a limit from which its use is flagged as near it. */
const NEAR = 0.8;

/** usage says, in text and a class, how close a use is to its limit: ok, near (≥ 80 %) or at
 * or over it. The figures themselves are exact; the share is for the flag only. */
function usage(used: number, limit: number): { text: string; cls: string } {
  if (!(limit > 0)) return { text: "", cls: "" };
  const share = used / limit;
  if (share >= 1) return { text: `⛔ at or over the limit (${Math.round(share * 100)} %)`, cls: "over" };
  if (share >= NEAR) return { text: `⚠ near the limit (${Math.round(share * 100)} %)`, cls: "near" };
  return { text: `✓ ${Math.round(share * 100)} % of the limit`, cls: "ok" };
}

/** limitsTable shows an agent's risk limits beside what it uses of them now: its largest
 * position's notional (|qty| × mark) against the position limit, its drawdown against the
 * level that halts it, its open orders against their limit; the per-order limits (notional,
 * price band, rate) have no standing use and are shown alone. */
export function limitsTable(v: AgentView): string {
  const l = v.limits;
  if (!l) return `<span class="dim">no limits reported</span>`;
  let biggest = "0";
  let where = "";
  for (const p of v.positions ?? []) {
    const n = mulDec(p.qty, p.mark).replace("-", "");
    if (n && Number(n) > Number(biggest)) [biggest, where] = [n, p.symbol];
  }
  type Row = [key: string, label: string, limit: string, used: string, flag: { text: string; cls: string }];
  const rows: Row[] = [
    ["max_position_notional", "position notional", money(l.max_position_notional), where ? `${money(biggest)} <span class="dim">${esc(where)}</span>` : "0", usage(Number(biggest), Number(l.max_position_notional))],
    ["drawdown_halt", "drawdown (halts at)", esc(percent(v.drawdown_halt)), esc(percent(v.totals.drawdown)), usage(Number(v.totals.drawdown), Number(v.drawdown_halt))],
    ["max_open_orders", "open orders", int(l.max_open_orders), int(v.open_orders), usage(v.open_orders, l.max_open_orders)],
    ["max_order_notional", "order notional", money(l.max_order_notional), `<span class="dim">per order</span>`, { text: "", cls: "" }],
    ["price_band", "price band", esc(percent(l.price_band)), `<span class="dim">from the last trade</span>`, { text: "", cls: "" }],
    ["orders_per_minute", "orders per minute", int(l.orders_per_minute), `<span class="dim">per minute</span>`, { text: "", cls: "" }],
  ];
  return `<table class="limits"><thead><tr><th>limit</th><th class="num">max</th><th class="num">now</th><th>use</th></tr></thead><tbody>${rows
    .map(([key, label, limit, used, flag]) => `<tr data-limit="${key}" class="${flag.cls}"><td>${esc(label)}</td><td class="num limit-value">${limit}</td><td class="num">${used}</td><td class="use">${esc(flag.text)}</td></tr>`)
    .join("")}</tbody></table>`;
}

export interface RiskView {
  kill_switch: boolean;
  passed: number;
  rejected: Record<string, number> | null;
  open_orders: number;
  last_reject?: string;
}

export interface AgentEvent {
  agent: string;
  state: AgentState;
  previous: AgentState;
  reason: string;
  equity: string;
  drawdown: string;
  time: number;
  cause: string;
}

/** STATE_BADGE: each state has a symbol and its name, so colour is never the only signal. */
export const STATE_BADGE: Record<string, string> = { ACTIVE: "▶ ACTIVE", REDUCING: "◐ REDUCING", HALTED: "■ HALTED" };

/** fig is one labelled figure; html is already escaped. */
export function fig(label: string, html: string, cls = ""): string {
  return `<div class="fig small"><span class="fig-label">${esc(label)}</span><span class="fig-value ${cls}" data-live>${html}</span></div>`;
}

/** signedMoney shows a P&L decimal with its sign as a symbol and a colour. */
export function signedMoney(s: string): string {
  return `<span class="val ${upDown(s)}">${arrow(s)}${money(s)}</span>`;
}

/** orderLine describes an agent's last order event in one line. */
export function orderLine(o: OrderEvent | undefined): string {
  if (!o) return `<span class="dim">no order yet</span>`;
  const what = o.type === "fill" ? `${exact(o.fill_qty)} @ ${exact(o.fill_price)}` : `${exact(o.qty)}${o.price ? " @ " + exact(o.price) : ""}`;
  return `last order: <b>${esc(o.type)}</b> ${esc(o.side)} ${esc(o.symbol)} ${esc(what)} <span class="dim">· ${esc(time(o.time))}${o.reason ? " · " + esc(o.reason) : ""}</span>`;
}

/** agentFigures are an agent's money figures; ret is its return in percent ("-0.1448"). */
export function agentFigures(v: AgentView, ret = returnPct(v.totals.equity, v.totals.capital)): string {
  const t = v.totals;
  return (
    fig("equity", money(t.equity)) +
    fig("return", esc(pct(ret)), upDown(ret)) +
    fig("realized", signedMoney(t.realized)) +
    fig("unrealized", signedMoney(t.unrealized)) +
    fig("fees", money(t.fees)) +
    fig("exposure", money(t.exposure)) +
    fig("drawdown", esc(percent(t.drawdown))) +
    fig("max drawdown", esc(percent(v.max_drawdown)))
  );
}

/** agentCounts are what an agent did: signals read, intents sent, fills, rejections. */
export function agentCounts(v: AgentView): string {
  return dl([
    ["signals", int(v.signals)],
    ["intents", int(v.intents)],
    ["fills", int(v.fills)],
    ["rejected", int(v.rejected)],
    ["open orders", int(v.open_orders)],
    ["market time", time(v.event_time)],
  ]);
}

/** positionsTable lists an agent's positions. */
export function positionsTable(pos: Position[] | null | undefined): string {
  if (!pos?.length) return `<span class="dim">no positions</span>`;
  return `<table><thead><tr><th>symbol</th><th class="num">qty</th><th class="num">cost</th><th class="num">mark</th><th class="num">realized</th><th class="num">fees</th><th class="num">fills</th></tr></thead><tbody>${pos
    .map(
      (p) =>
        `<tr><td>${esc(p.symbol)} <span class="dim">${esc(p.venue)}</span></td><td class="num">${esc(exact(p.qty))}</td><td class="num">${money(p.cost)}</td><td class="num">${money(p.mark)}</td><td class="num">${signedMoney(p.realized)}</td><td class="num">${money(p.fees)}</td><td class="num">${int(p.fills)}</td></tr>`,
    )
    .join("")}</tbody></table>`;
}

/** rejectionsTable lists the risk gate's rejections by check, most first. */
export function rejectionsTable(rej: Record<string, number> | null | undefined): string {
  const r = rej ?? {};
  const checks = Object.keys(r).sort((a, b) => r[b] - r[a] || (a < b ? -1 : 1));
  if (!checks.length) return `<span class="dim">none</span>`;
  return `<table><thead><tr><th>check</th><th class="num">rejected</th></tr></thead><tbody>${checks.map((c) => `<tr><td>${esc(c)}</td><td class="num">${int(r[c])}</td></tr>`).join("")}</tbody></table>`;
}

/** say shows a panel's message: an error as an alert, anything else as a status. */
export function say(el: HTMLElement, text: string, ok: boolean): void {
  if (el.textContent === text && el.classList.contains(ok ? "ok" : "error")) return;
  el.textContent = text;
  el.className = `msg ${text ? (ok ? "ok" : "error") : ""}`;
  el.setAttribute("role", ok ? "status" : "alert");
}
