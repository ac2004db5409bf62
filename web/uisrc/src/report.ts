// The backtest report: a self-contained HTML page (web.RenderBacktest inlines this script, its
// CSS and the report's JSON) that draws a `synapse backtest` result without any network:
// what ran (inputs with their SHA-256, period, events), whether the accounting identity held,
// a table and an equity curve per agent, the risk gate's rejections and the order counts.
import "./style.css";
import "./report.css";
import { esc, dl, int, time, money, pct, percent, percentOf, upDown } from "./format";
import { AgentView, RiskView, STATE_BADGE, fig, signedMoney, orderLine, agentFigures, agentCounts, positionsTable, rejectionsTable } from "./agentview";
import { equityChart, EquityChart } from "./charts";

/** The report (cmd/synapse BacktestReport, schema backtest/v1). */
interface Report {
  schema: string;
  inputs: { file: string; bytes: number; sha256: string }[] | null;
  from: number;
  to: number;
  events: number;
  skipped: Record<string, unknown> | null;
  rejected?: { venue: string; symbol: string; malformed: number; out_of_order: number; duplicates: number; last_problem: string }[] | null;
  steps: number;
  models: { model: string; version: string }[] | null;
  agents: (AgentView & { return: string; identity: string })[] | null;
  total: AgentView["totals"];
  identity: string;
  risk: RiskView;
  orders: Record<string, number> | null;
}

declare global {
  interface Window {
    __report: { ready: boolean; charts: () => { agent: string; points: number }[]; error?: string };
  }
}

/** ORDER_STEPS: the order lifecycle, in order, for the counts table. */
const ORDER_STEPS = ["intent", "submitted", "accepted", "fill", "canceled", "rejected", "expired"];

function duration(ms: number): string {
  if (!(ms > 0)) return "—";
  const m = Math.round(ms / 60000);
  const d = Math.floor(m / 1440);
  const h = Math.floor((m % 1440) / 60);
  return [d ? `${d} d` : "", h ? `${h} h` : "", m % 60 ? `${m % 60} min` : ""].filter(Boolean).join(" ") || "0 min";
}

function section(root: HTMLElement, title: string, cls = "", id = ""): HTMLElement {
  const s = document.createElement("section");
  s.className = `glass card ${cls}`;
  if (id) s.id = id;
  s.innerHTML = `<div class="panel-head"><h2>${esc(title)}</h2></div>`;
  const body = document.createElement("div");
  s.appendChild(body);
  root.appendChild(s);
  return body;
}

function render(r: Report, root: HTMLElement): EquityChart[] {
  const ok = r.identity === "ok";
  const agents = r.agents ?? [];
  document.title = `Synapse backtest — ${time(r.from).slice(0, 10)} to ${time(r.to).slice(0, 10)} · identity ${ok ? "ok" : "BROKEN"}`;
  root.innerHTML = `
    <header class="top">
      <span class="logo">SYNAPSE</span><h1>Backtest report</h1>
      <span id="identity" class="badge ${ok ? "state-ACTIVE" : "state-HALTED"}" role="status">${ok ? "✓ identity ok" : "✗ identity broken"}</span>
    </header>
    <main class="report-main"></main>`;
  const main = root.querySelector("main") as HTMLElement;

  // what ran
  const run = section(main, "Run", "run", "run");
  const sk = (r.skipped ?? {}) as Record<string, number | string>;
  run.innerHTML = `
    <div class="figs">${fig("period", `${esc(time(r.from))}<br>→ ${esc(time(r.to))}`, "wrap")}${fig("market time covered", esc(duration(r.to - r.from)))}${fig("events", int(r.events))}${fig("clock steps", int(r.steps))}${fig("agents", int(agents.length))}</div>
    <p class="identity-text ${ok ? "up" : "down"}">${
      ok
        ? "✓ Accounting identity: equity = capital + realized + unrealized − fees holds exactly for every agent and in total."
        : `✗ Accounting identity does not hold: ${esc(r.identity)}`
    }</p>
    <h3>Inputs</h3>
    <table class="inputs"><thead><tr><th>file</th><th class="num">bytes</th><th>sha256</th></tr></thead><tbody>${(r.inputs ?? [])
      .map((i) => `<tr><td>${esc(i.file)}</td><td class="num">${int(i.bytes)}</td><td class="hash"><code>${esc(i.sha256)}</code></td></tr>`)
      .join("")}</tbody></table>
    <div class="two">
      <div><h3>Records skipped</h3>${dl([
        ["records read", int(sk.records)],
        ["malformed", int(sk.malformed)],
        ["out of order", int(sk.out_of_order)],
        ["duplicates", int(sk.duplicates)],
        ["not market data", int(sk.non_market)],
        ["other streams", int(sk.other_streams)],
        ["refused by the symbol actors", int((r.rejected ?? []).reduce((n, x) => n + x.malformed + x.out_of_order + x.duplicates, 0))],
      ])}${(r.rejected ?? []).map((x) => `<p class="dim">${esc(x.symbol)}: ${esc(x.last_problem)}</p>`).join("")}${sk.last_error ? `<p class="dim">last malformed line: ${esc(String(sk.last_error))}</p>` : ""}</div>
      <div><h3>Models</h3>${dl((r.models ?? []).map((m) => [m.model, `v${m.version}`]))}<p class="dim">schema ${esc(r.schema)}</p></div>
    </div>`;

  // all agents side by side, then the total
  const cmp = section(main, "Agents", "compare", "compare");
  const row = (name: string, state: string, t: AgentView["totals"], ret: string, maxDD: string, counts: string, identity: string) =>
    `<tr><td><b>${esc(name)}</b></td><td>${state}</td><td class="num">${money(t.equity)}</td><td class="num ${upDown(ret)}">${esc(pct(ret))}</td><td class="num">${signedMoney(t.realized)}</td><td class="num">${signedMoney(t.unrealized)}</td><td class="num">${money(t.fees)}</td><td class="num">${maxDD}</td>${counts}<td>${identity}</td></tr>`;
  cmp.innerHTML = `<div class="table-wrap"><table><thead><tr><th>agent</th><th>state</th><th class="num">equity</th><th class="num">return</th><th class="num">realized</th><th class="num">unrealized</th><th class="num">fees</th><th class="num">max drawdown</th><th class="num">signals</th><th class="num">intents</th><th class="num">fills</th><th class="num">rejected</th><th>identity</th></tr></thead><tbody>${agents
    .map((a) =>
      row(
        a.name,
        `<span class="badge state-${esc(a.state)}">${esc(STATE_BADGE[a.state] ?? a.state)}</span>`,
        a.totals,
        percentOf(a.return),
        esc(percent(a.max_drawdown)),
        `<td class="num">${int(a.signals)}</td><td class="num">${int(a.intents)}</td><td class="num">${int(a.fills)}</td><td class="num">${int(a.rejected)}</td>`,
        a.identity === "ok" ? "✓ ok" : `✗ ${esc(a.identity)}`,
      ),
    )
    .join("")}${r.total ? row("total", "", r.total, "", "", `<td></td><td></td><td class="num">${int(r.total.fills)}</td><td></td>`, ok ? "✓ ok" : "✗") : ""}</tbody></table></div>`;

  // one card per agent, with its equity curve
  const charts: EquityChart[] = [];
  const grid = document.createElement("div");
  grid.className = "agents report-agents";
  main.appendChild(grid);
  for (const a of agents) {
    const sec = document.createElement("section");
    sec.className = "glass card agent";
    sec.dataset.agent = a.name;
    sec.innerHTML = `
      <div class="panel-head"><h2>${esc(a.name)}</h2><span class="badge state-${esc(a.state)}">${esc(STATE_BADGE[a.state] ?? a.state)}</span><span class="sub dim">${esc(a.profile)} · ${esc(a.execution)} · follows ${esc((a.models ?? []).join(", "))}</span></div>
      ${a.reason ? `<p class="reason">reason: ${esc(a.reason)}</p>` : ""}
      <div class="agent-row"><div class="agent-figs figs">${agentFigures(a, percentOf(a.return))}</div><div class="chart equity" aria-label="equity curve of ${esc(a.name)}"></div></div>
      <div class="counts">${agentCounts(a)}</div>
      <h3>Positions at the end</h3>${positionsTable(a.positions)}
      <p class="last-order">${orderLine(a.last_order)}</p>
      <p class="dim">identity: ${a.identity === "ok" ? "✓ ok" : "✗ " + esc(a.identity)}</p>`;
    grid.appendChild(sec);
    const ch = equityChart(sec.querySelector(".chart") as HTMLElement, a.totals.capital);
    ch.set(a.curve, a.event_time > 0 ? { time: a.event_time, equity: a.totals.equity } : undefined);
    charts.push(ch);
  }

  // the risk gate and the order log
  const bottom = document.createElement("div");
  bottom.className = "two";
  main.appendChild(bottom);
  const risk = section(bottom, "Risk gate", "risk-panel", "risk");
  const rk = r.risk ?? { kill_switch: false, passed: 0, rejected: {}, open_orders: 0 };
  const rejected = Object.values(rk.rejected ?? {}).reduce((x, y) => x + y, 0);
  risk.innerHTML = `<div class="figs">${fig("orders passed", int(rk.passed))}${fig("rejected", int(rejected))}${fig("open at the end", int(rk.open_orders))}${fig("kill switch at the end", rk.kill_switch ? "● ON" : "○ off")}</div>
    <h3>Rejections by check</h3>${rejectionsTable(rk.rejected)}
    <h3>Last rejection</h3><p class="${rk.last_reject ? "" : "dim"}">${esc(rk.last_reject || "none")}</p>`;
  const ord = section(bottom, "Order events on the log", "orders-panel", "orders");
  const counts = r.orders ?? {};
  const steps = [...ORDER_STEPS, ...Object.keys(counts).filter((k) => !ORDER_STEPS.includes(k)).sort()];
  ord.innerHTML = `<table><thead><tr><th>event</th><th class="num">count</th></tr></thead><tbody>${steps
    .map((k) => `<tr><td>${esc(k)}</td><td class="num">${int(counts[k] ?? 0)}</td></tr>`)
    .join("")}</tbody><tfoot><tr><td>all</td><td class="num">${int(Object.values(counts).reduce((x, y) => x + y, 0))}</td></tr></tfoot></table>`;
  return charts;
}

const app = document.getElementById("app")!;
window.__report = { ready: false, charts: () => [] };
try {
  const r = JSON.parse(document.getElementById("report")!.textContent ?? "") as Report;
  const charts = render(r, app);
  const names = (r.agents ?? []).map((a) => a.name);
  window.__report = { ready: true, charts: () => charts.map((c, i) => ({ agent: names[i], points: c.points() })) };
} catch (e) {
  const msg = e instanceof Error ? e.message : String(e);
  app.innerHTML = `<p class="banner" role="alert">⚠ This report could not be drawn: ${esc(msg)}</p>`;
  window.__report = { ready: false, charts: () => [], error: msg };
  throw e;
}
