// The Portfolio page: the read model's view of the agents (a summary with totals, their
// positions, their equity curves on one chart), the allocation against a risk profile with
// the drift and the rebalance it suggests, a Monte Carlo projection of an agent's equity, and
// the newest fills, a page at a time. The summary's live values come from the websocket topic
// portfolio (the summary query's answer, set when it changes; the query until it comes); the
// rest, history, from the portfolio queries (GET /api/v1/queries/positions, equity,
// allocation, montecarlo, fills), asked again every few seconds while the page is visible and
// at once when an agent's state or fills change on the websocket (agent/<NAME>). A query the engine refuses (400: a bad parameter)
// shows the engine's message in the panel that asked.
import { Live, query, AuthError, QueryError } from "./live";
import { esc, int, num, time, money, exact, percent, returnPct, pct, arrow, upDown, sign, sumDec, put } from "./format";
import { messagePanel as panel } from "./panel";
import { Position, STATE_BADGE, fig, say, signedMoney } from "./agentview";
import { curvesChart, fanChart, CURVE_STYLES, CurvePoint, FanBand } from "./charts";
import { command, describe } from "./commands";
import { guard } from "./access";
import { totalCurve, maxDrawdown, DrawdownPoint } from "./drawdown";

/** Snapshot is an agent's hourly equity snapshot (streams.EquitySnapshot). */
interface Snapshot {
  agent: string;
  time: number; // epoch ms, the start of the hour
  capital: string;
  cash: string;
  equity: string;
  exposure: string;
  realized: string;
  unrealized: string;
  fees: string;
  drawdown: string;
}

/** AgentSummary is one agent as the read model knows it (portfolio.AgentSummary). */
interface AgentSummary {
  agent: string;
  state: string;
  reason?: string;
  latest: Snapshot; // zero before the first snapshot
  orders: number;
  open_orders: number;
  fills: number;
  fees: string; // Σ fill fees
  realized: string; // Σ positions' realized P&L
  moved?: string; // Σ its capital moves: in, less out
}

/** Total is every agent together (portfolio.Total): the drawdown is the total curve's own. */
interface Total {
  agents: number;
  capital: string;
  equity: string;
  moved: string;
  drawdown: string;
}

interface Summary {
  agents: AgentSummary[] | null;
  total?: Total;
  applied: Record<string, number> | null; // the streams folded in, by name: their last sequence
}

/** PositionRow is a position with its agent and derived amounts (the positions query). */
interface PositionRow extends Position {
  agent: string;
  avg_cost: string;
  value: string;
  unrealized: string;
}

interface Weight {
  agent: string;
  equity: string;
  cash: string;
  target: string;
  weight: string;
  drift: string;
  target_equity: string;
  out: boolean;
}

interface Move {
  agent: string;
  amount: string;
  type: string;
  reason?: string;
  cause: string;
  time: number;
}

interface Allocation {
  profile: string;
  threshold: string;
  total?: string;
  weights: Weight[] | null;
  max_drift?: string;
  rebalance?: boolean;
  profiles: string[] | null;
  moves: Move[] | null;
  as_of: number;
}

/** Projection is a Monte Carlo run (portfolio.Projection): floats, as the simulation is. */
interface Projection {
  paths: number;
  horizon: number;
  start: number;
  goal?: number;
  seed: number;
  samples: number;
  bands: FanBand[] | null;
  p_goal: number;
  p_loss: number;
}

interface Fill {
  client_order_id: string;
  trade_id: string;
  agent: string;
  venue: string;
  symbol: string;
  side: string;
  qty: string;
  price: string;
  fee: string;
  maker: boolean;
  time: number;
}

interface FillPage {
  items: Fill[] | null;
  total: number;
  limit: number;
  offset: number;
}

/** The bounds the montecarlo query checks (portfolio.MaxPaths, MaxHorizon). */
const MAX_PATHS = 10000;
const MAX_HORIZON = 10000;
const HOUR = 3600_000;
const REFRESH_MS = 3000;
/** EQUITY_RANGES: how far back the equity chart reaches from the newest snapshot, in hours. */
const EQUITY_RANGES: [string, number][] = [
  ["all", 0],
  ["last 24 h", 24],
  ["last 7 days", 168],
  ["last 30 days", 720],
];
const FILL_PAGE_SIZES = [10, 20, 50, 100];

declare global {
  interface Window {
    /** __portfolio lets the browser tests see what the charts drew. */
    __portfolio: { equity: () => Record<string, number>; drawdown: () => Record<string, { points: number; max: string }>; fan: () => { points: number; p_goal: number | null; p_loss: number | null; agent: string } };
  }
}

/** refusal is a failed query as one line of text: the engine's message for a refused one. */
function refusal(what: string, e: unknown): string {
  if (e instanceof AuthError) window.dispatchEvent(new Event("synapse-auth"));
  if (e instanceof QueryError) return `✗ ${e.query} refused (${e.status}): ${e.detail}`;
  return `✗ could not load ${what}: ${e instanceof Error ? e.message : e}`;
}

function options(values: [string, string][], selected: string): string {
  return values.map(([v, label]) => `<option value="${esc(v)}"${v === selected ? " selected" : ""}>${esc(label)}</option>`).join("");
}

/** signedPct shows a fraction ("-0.066667") as "▼ −6.6667 %": the sign as text too. */
function signedPct(s: string): string {
  return `<span class="${upDown(s)}">${arrow(s)}${esc(percent(s))}</span>`;
}

/** amount shows a float (a projected equity) rounded to cents, grouped: display only. */
function amount(v: number): string {
  return Number.isFinite(v) ? v.toLocaleString("en-US", { minimumFractionDigits: 0, maximumFractionDigits: 2 }).replace("-", "−") : "—";
}

/** share is a fraction as a float between 0 and 1, for drawing only. */
function share(s: string): number {
  const v = Number(s);
  return Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0;
}

/** weightBar draws an agent's weight against its target and the band the threshold allows. */
function weightBar(w: Weight, threshold: string): string {
  const t = share(w.target);
  const d = share(threshold);
  const lo = Math.max(0, t - d);
  const hi = Math.min(1, t + d);
  const pc = (v: number) => `${(v * 100).toFixed(2)}%`;
  return `<span class="wbar${w.out ? " out" : ""}" aria-hidden="true"><span class="wband" style="left:${pc(lo)};width:${pc(hi - lo)}"></span><span class="wfill" style="width:${pc(share(w.weight))}"></span><span class="wtarget" style="left:${pc(t)}"></span></span>`;
}

export function portfolioPage(root: HTMLElement, live: Live): void {
  let names: string[] = []; // the agents in their configured order
  let summary: Summary | null = null;
  const rank = (n: string) => (names.includes(n) ? names.indexOf(n) : names.length);
  const byRank = (a: string, b: string) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
  const styleOf = (n: string) => (names.includes(n) ? names.indexOf(n) : names.length + [...n].reduce((a, c) => a + c.charCodeAt(0), 0));

  // --- the summary ------------------------------------------------------------------------
  // One column per agent and one for the total: the rows are the snapshot's fields and the
  // read model's counts (a column per agent stays narrow beside the neural view).
  const sum = panel(
    root,
    "pf-summary",
    "Portfolio",
    `<div class="figs pf-figs" id="pf-totals"></div>
    <div class="scroll-x"><table class="pf-table pf-summary" id="pf-summary-table"><tbody id="pf-summary-body"><tr class="empty"><td class="dim">loading…</td></tr></tbody></table></div>`,
  );
  const sumMsg = sum.querySelector("[data-msg]") as HTMLElement;

  function renderSummary(s: Summary): void {
    const agents = [...(s.agents ?? [])].sort((a, b) => byRank(a.agent, b.agent));
    const applied = Object.entries(s.applied ?? {})
      .sort()
      .map(([k, v]) => `${k} ${int(v)}`)
      .join(" · ");
    const newest = Math.max(0, ...agents.map((a) => a.latest?.time ?? 0));
    put(sum.querySelector("[data-hint]") as HTMLElement, esc(`snapshot ${newest ? time(newest) : "— none yet"}${applied ? " · read model at " + applied : ""}`));
    const body = sum.querySelector("#pf-summary-body") as HTMLElement;
    if (!agents.length) {
      put(body, `<tr class="empty"><td class="dim">No agent has reached the log yet.</td></tr>`);
      put(sum.querySelector("#pf-totals") as HTMLElement, "");
      return;
    }
    const dash = `<span class="dim">—</span>`;
    const snaps = agents.filter((a) => a.latest?.time > 0).map((a) => a.latest);
    const total = (k: keyof Snapshot) => sumDec(snaps.map((l) => l[k]));
    // the read model's own total when it sends one (it nets the capital moves out of the
    // drawdown); else the sum of the snapshots
    const equity = s.total?.equity ?? total("equity");
    const capital = s.total?.capital ?? total("capital");
    const totalDrawdown = s.total && snaps.length ? esc(percent(s.total.drawdown)) : dash;
    const ret = returnPct(equity, capital);
    const realized = sumDec(agents.map((a) => a.realized));
    const fees = sumDec(agents.map((a) => a.fees));
    const count = (k: "orders" | "open_orders" | "fills") => agents.reduce((n, a) => n + (a[k] ?? 0), 0);
    // a row: its label, then each agent's cell (html), then the total's
    type Row = [field: string, label: string, cell: (a: AgentSummary, l: Snapshot | null) => string, total: string];
    const snapMoney = (k: keyof Snapshot) => (_a: AgentSummary, l: Snapshot | null) => (l ? money(l[k]) : dash);
    const rows: Row[] = [
      ["state", "state", (a) => `<span class="badge state-badge state-${esc(a.state)}"${a.reason ? ` title="${esc(a.reason)}"` : ""}>${esc(STATE_BADGE[a.state] ?? a.state)}</span>`, `<span class="dim">${int(agents.length)} agents</span>`],
      ["equity", "equity", snapMoney("equity"), money(equity)],
      ["capital", "capital", snapMoney("capital"), money(capital)],
      ["return", "return", (_a, l) => (l ? `<span class="${upDown(returnPct(l.equity, l.capital))}">${esc(pct(returnPct(l.equity, l.capital)))}</span>` : dash), `<span class="${upDown(ret)}">${esc(pct(ret))}</span>`],
      ["cash", "cash", snapMoney("cash"), money(total("cash"))],
      ["exposure", "exposure", snapMoney("exposure"), money(total("exposure"))],
      ["realized", "realized P&L", (a) => signedMoney(a.realized), signedMoney(realized)],
      ["unrealized", "unrealized P&L", (_a, l) => (l ? signedMoney(l.unrealized) : dash), signedMoney(total("unrealized"))],
      ["fees", "fees", (a) => money(a.fees), money(fees)],
      ["drawdown", "drawdown", (_a, l) => (l ? esc(percent(l.drawdown)) : dash), totalDrawdown],
      ["moved", "capital moved", (a) => (a.moved ? signedMoney(a.moved) : dash), s.total ? signedMoney(s.total.moved) : dash],
      ["orders", "orders", (a) => int(a.orders), int(count("orders"))],
      ["open_orders", "open orders", (a) => int(a.open_orders), int(count("open_orders"))],
      ["fills", "fills", (a) => int(a.fills), int(count("fills"))],
    ];
    put(
      body,
      `<tr class="pf-head"><th scope="col"><span class="sr-only">field</span></th>${agents
        .map((a) => `<th scope="col" class="num"><a href="/agents/#agent=${encodeURIComponent(a.agent)}">${esc(a.agent)}</a></th>`)
        .join("")}<th scope="col" class="num total">total</th></tr>` +
        rows
          .map(
            ([field, label, cell, tot]) =>
              `<tr data-field="${field}"><th scope="row">${esc(label)}</th>${agents
                .map((a) => `<td class="num" data-agent="${esc(a.agent)}" data-actor="agent/${esc(a.agent)}" data-field="${field}"${field === "equity" ? " data-live" : ""}>${cell(a, a.latest?.time > 0 ? a.latest : null)}</td>`)
                .join("")}<td class="num total" data-agent="total" data-field="${field}">${tot}</td></tr>`,
          )
          .join(""),
    );
    put(
      sum.querySelector("#pf-totals") as HTMLElement,
      fig("total equity", money(equity)) +
        fig("return", esc(pct(ret)), upDown(ret)) +
        fig("total drawdown", totalDrawdown) +
        fig("realized P&L", signedMoney(realized)) +
        fig("fees", money(fees)),
    );
  }

  // --- the equity curves ------------------------------------------------------------------
  const eq = panel(
    root,
    "pf-equity",
    "Equity",
    `<div class="pf-tools"><label>range <select id="pf-range">${options(
      EQUITY_RANGES.map(([l, hrs]) => [String(hrs), l]),
      "0",
    )}</select></label><span class="legend pf-legend" id="pf-legend"></span></div>
    <div class="chart pf-chart" id="pf-equity-chart" role="img" aria-label="equity curves of the agents, from their hourly snapshots"></div>
    <h3>Drawdown <span class="dim">below the running peak, in % (1 − value ÷ peak; capital moved in or out, such as a distribution paid out, is not a loss)</span></h3>
    <div class="figs pf-figs" id="pf-dd-figs"></div><span class="legend pf-legend" id="pf-dd-legend"></span>
    <div class="chart pf-chart pf-dd-chart" id="pf-drawdown-chart" role="img" aria-label="drawdown curves of the agents and of the total, in percent below their running peak"></div>`,
  );
  const eqMsg = eq.querySelector("[data-msg]") as HTMLElement;
  put(eq.querySelector("[data-hint]") as HTMLElement, "hourly snapshots, from the read model");
  const curves = curvesChart(eq.querySelector("#pf-equity-chart") as HTMLElement);
  const range = eq.querySelector("#pf-range") as HTMLSelectElement;
  const curveFor = new Map<string, string>(); // agent → the request its curve was drawn from
  const ddChart = curvesChart(eq.querySelector("#pf-drawdown-chart") as HTMLElement, 4);
  const snapsFor = new Map<string, Snapshot[]>(); // agent → the snapshots its curve was drawn from
  const drawdowns = new Map<string, DrawdownPoint[]>(); // agent, and "total" → its drawdown series

  /** renderDrawdown draws each agent's drawdown and the total's from the snapshots the equity
   * chart shows, computed as the read model computes the total's (drawdown.ts). */
  function renderDrawdown(agents: string[]): void {
    const all: Snapshot[] = [];
    for (const a of agents) {
      const snaps = snapsFor.get(a) ?? [];
      all.push(...snaps);
      drawdowns.set(a, totalCurve(snaps));
    }
    drawdowns.set("total", totalCurve(all));
    const keys = [...agents, "total"];
    const styleFor = (k: string) => (k === "total" ? agents.length : styleOf(k));
    for (const k of keys) {
      ddChart.set(k, (drawdowns.get(k) ?? []).map((p) => ({ time: p.time, equity: String(-Number(p.drawdown) * 100) })), styleFor(k));
    }
    put(
      eq.querySelector("#pf-dd-figs") as HTMLElement,
      keys.map((k) => `<span data-dd="${esc(k)}" data-max="${esc(maxDrawdown(drawdowns.get(k) ?? []))}">${fig(`${k} max drawdown`, esc(percent(maxDrawdown(drawdowns.get(k) ?? []))))}</span>`).join(""),
    );
    put(
      eq.querySelector("#pf-dd-legend") as HTMLElement,
      keys
        .map((k) => {
          const st = CURVE_STYLES[styleFor(k) % CURVE_STYLES.length];
          return `<span title="${esc(st.dash)} line"><span aria-hidden="true" style="color:${st.color}">${st.symbol}</span> ${esc(k)}</span>`;
        })
        .join(""),
    );
  }

  async function loadEquity(s: Summary): Promise<void> {
    const agents = [...(s.agents ?? [])].sort((a, b) => byRank(a.agent, b.agent));
    const newest = Math.max(0, ...agents.map((a) => a.latest?.time ?? 0));
    const hours = Number(range.value);
    const params = (agent: string) => {
      const p = new URLSearchParams({ agent });
      if (hours > 0 && newest > 0) p.set("since", String(newest - hours * HOUR + 1));
      return p.toString();
    };
    const errors: string[] = [];
    await Promise.all(
      agents.map(async (a) => {
        const p = params(a.agent);
        const key = `${p}@${a.latest?.time ?? 0}`;
        if (curveFor.get(a.agent) === key) return; // no newer snapshot: the curve is drawn
        try {
          const snaps: Snapshot[] | null = await query("equity", p);
          snapsFor.set(a.agent, snaps ?? []);
          const pts: CurvePoint[] = (snaps ?? []).map((x) => ({ time: x.time, equity: x.equity }));
          curves.set(a.agent, pts, styleOf(a.agent));
          curveFor.set(a.agent, key);
        } catch (e) {
          errors.push(refusal(`${a.agent}'s equity`, e));
        }
      }),
    );
    say(eqMsg, errors.join(" · "), errors.length === 0);
    renderDrawdown(agents.map((a) => a.agent));
    const pts = curves.points();
    put(
      eq.querySelector("#pf-legend") as HTMLElement,
      agents
        .map((a) => {
          const st = CURVE_STYLES[styleOf(a.agent) % CURVE_STYLES.length];
          return `<span title="${esc(st.dash)} line"><span aria-hidden="true" style="color:${st.color}">${st.symbol}</span> ${esc(a.agent)} <span class="dim">(${int(pts[a.agent] ?? 0)} snapshots)</span></span>`;
        })
        .join(""),
    );
  }
  range.addEventListener("change", () => {
    curveFor.clear();
    if (summary) void loadEquity(summary);
  });

  // --- the positions ----------------------------------------------------------------------
  const pos = panel(
    root,
    "pf-positions",
    "Positions",
    `<div class="pf-tools"><label>agent <select id="pf-pos-agent" data-agents><option value="">every agent</option></select></label></div>
    <div class="scroll-x"><table class="pf-table"><thead><tr><th>agent</th><th>venue</th><th>symbol</th><th class="num">qty</th><th class="num" title="cost ÷ qty">avg cost</th><th class="num">mark</th><th class="num">unrealized</th><th class="num" title="realized P&amp;L, fees not included">realized</th><th class="num">fees</th></tr></thead>
    <tbody id="pf-pos-body"><tr class="empty"><td colspan="9" class="dim">loading…</td></tr></tbody></table></div>`,
  );
  const posMsg = pos.querySelector("[data-msg]") as HTMLElement;
  const posAgent = pos.querySelector("#pf-pos-agent") as HTMLSelectElement;

  async function loadPositions(): Promise<void> {
    const agent = posAgent.value;
    try {
      const rows: PositionRow[] = (await query("positions", agent ? new URLSearchParams({ agent }).toString() : "")) ?? [];
      if (posAgent.value !== agent) return; // the filter changed meanwhile: that answer is asked for
      rows.sort((a, b) => byRank(a.agent, b.agent) || (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
      put(pos.querySelector("[data-hint]") as HTMLElement, esc(`${rows.length} position${rows.length === 1 ? "" : "s"}`));
      put(
        pos.querySelector("#pf-pos-body") as HTMLElement,
        rows.length
          ? rows
              .map(
                (p) =>
                  `<tr data-agent="${esc(p.agent)}" data-actor="agent/${esc(p.agent)}"><td>${esc(p.agent)}</td><td>${esc(p.venue)}</td><td>${esc(p.symbol)}</td><td class="num">${sign(p.qty) === 0 ? `0 <span class="dim">(flat)</span>` : arrow(p.qty) + esc(exact(p.qty))}</td><td class="num">${money(p.avg_cost)}</td><td class="num">${money(p.mark)}</td><td class="num">${signedMoney(p.unrealized)}</td><td class="num">${signedMoney(p.realized)}</td><td class="num">${money(p.fees)}</td></tr>`,
              )
              .join("")
          : `<tr class="empty"><td colspan="9" class="dim">No positions${agent ? ` for ${esc(agent)}` : ""}: they appear once an order fills.</td></tr>`,
      );
      say(posMsg, "", true);
    } catch (e) {
      say(posMsg, refusal("the positions", e), false);
    }
  }
  posAgent.addEventListener("change", () => void loadPositions());

  // --- the allocation ---------------------------------------------------------------------
  const alloc = panel(
    root,
    "pf-allocation",
    "Allocation",
    `<form class="pf-tools" id="pf-alloc-form" novalidate>
      <fieldset class="seg" id="pf-profiles"><legend>risk profile</legend><span class="dim">loading…</span></fieldset>
      <label>drift threshold <input id="pf-threshold" name="threshold" type="number" min="0" max="1" step="0.01" value="0.05" inputmode="decimal" aria-describedby="pf-threshold-hint"></label>
      <span class="dim" id="pf-threshold-hint">a fraction of the total, 0 to 1 (0.05: five points)</span>
    </form>
    <p id="pf-alloc-state" class="pf-state"></p>
    <div class="scroll-x"><table class="pf-table" id="pf-alloc-table"><thead><tr><th>agent</th><th class="num">target</th><th class="num">weight</th><th>weight vs target</th><th class="num">drift</th><th id="pf-within">within?</th><th class="num" title="equity now → the equity the target asks for">equity → target</th></tr></thead>
    <tbody id="pf-alloc-body"><tr class="empty"><td colspan="7" class="dim">loading…</td></tr></tbody></table></div>
    <h3>Suggested rebalance</h3><div id="pf-moves" class="dim">—</div>
    <form class="pf-tools" id="pf-capital-form" novalidate>
      <button type="button" class="btn" id="pf-rebalance">Rebalance now</button>
      <label>keep <input id="pf-keep" name="keep" type="number" min="0" max="1" step="0.01" value="0.05" inputmode="decimal" aria-describedby="pf-keep-hint"></label>
      <button type="button" class="btn" id="pf-distribute">Sweep profits</button>
      <span class="dim" id="pf-keep-hint">a sweep takes each agent's equity above its high-water mark × (1 + keep)</span>
    </form>
    <p id="pf-capital-msg" class="pf-state" role="status"></p>
    <h3>Capital moves</h3><div id="pf-capital-moves" class="dim">loading…</div>`,
  );
  const allocMsg = alloc.querySelector("[data-msg]") as HTMLElement;
  const profiles = alloc.querySelector("#pf-profiles") as HTMLElement;
  const threshold = alloc.querySelector("#pf-threshold") as HTMLInputElement;
  let profile = ""; // "" until chosen: the engine's default
  let profileNames: string[] = [];

  function renderProfiles(list: string[], current: string): void {
    if (list.join() === profileNames.join() && profiles.querySelector(`input[value="${CSS.escape(current)}"]:checked`)) return;
    profileNames = list;
    profiles.innerHTML =
      `<legend>risk profile</legend>` +
      list.map((p) => `<label class="seg-opt"><input type="radio" name="profile" value="${esc(p)}"${p === current ? " checked" : ""}><span>${p === current ? "● " : "○ "}${esc(p)}</span></label>`).join("");
  }
  profiles.addEventListener("change", (e) => {
    const t = e.target as HTMLInputElement;
    if (t.name !== "profile") return;
    profile = t.value;
    profiles.querySelectorAll<HTMLInputElement>("input[name=profile]").forEach((i) => {
      i.nextElementSibling!.textContent = `${i.checked ? "● " : "○ "}${i.value}`;
    });
    void loadAllocation();
  });
  threshold.addEventListener("change", () => void loadAllocation());
  (alloc.querySelector("#pf-alloc-form") as HTMLFormElement).addEventListener("submit", (e) => {
    e.preventDefault();
    void loadAllocation();
  });

  let allocSeq = 0;
  async function loadAllocation(): Promise<void> {
    const p = new URLSearchParams();
    if (profile) p.set("profile", profile);
    if (threshold.value.trim() !== "" || threshold.validity.badInput) p.set("threshold", threshold.validity.badInput ? "not-a-number" : threshold.value.trim());
    const seq = ++allocSeq;
    try {
      const a: Allocation = await query("allocation", p.toString());
      if (seq !== allocSeq) return; // a newer request is on its way
      renderAllocation(a);
      say(allocMsg, "", true);
    } catch (e) {
      if (seq === allocSeq) say(allocMsg, refusal("the allocation", e), false);
    }
  }

  function renderAllocation(a: Allocation): void {
    alloc.dataset.profile = a.profile;
    renderProfiles(a.profiles ?? [a.profile], a.profile);
    const ws = a.weights ?? [];
    const snapshot = a.as_of > 0;
    put(alloc.querySelector("[data-hint]") as HTMLElement, esc(snapshot ? `as of ${time(a.as_of)}` : "no equity snapshot yet"));
    const within = `±${percent(a.threshold)}`;
    put(alloc.querySelector("#pf-within") as HTMLElement, esc(`within ${within}?`));
    put(
      alloc.querySelector("#pf-alloc-state") as HTMLElement,
      !snapshot
        ? `<span class="dim">No equity snapshot yet: the ${esc(a.profile)} profile's targets alone.</span>`
        : a.rebalance
          ? `<span class="warn">⚠ Rebalance suggested:</span> the largest drift is ${esc(percent(a.max_drift))}, beyond the threshold of ${esc(within)} <span class="dim">(total ${money(a.total)} under the ${esc(a.profile)} profile)</span>`
          : `<span class="up">✓ Within the threshold:</span> the largest drift is ${esc(percent(a.max_drift))} of ${esc(within)} <span class="dim">(total ${money(a.total)} under the ${esc(a.profile)} profile)</span>`,
    );
    put(
      alloc.querySelector("#pf-alloc-body") as HTMLElement,
      ws.length
        ? ws
            .map(
              (w) =>
                `<tr data-agent="${esc(w.agent)}" data-actor="agent/${esc(w.agent)}"${w.out ? ' class="drift-out"' : ""}><td>${esc(w.agent)}</td><td class="num" data-field="target">${esc(percent(w.target))}</td><td class="num" data-field="weight">${snapshot ? esc(percent(w.weight)) : "—"}</td><td>${snapshot ? weightBar(w, a.threshold) : ""}</td><td class="num" data-field="drift">${snapshot ? signedPct(w.drift) : "—"}</td><td data-field="status">${!snapshot ? "—" : w.out ? `<span class="warn">⚠ beyond</span>` : `<span class="up">✓ within</span>`}</td><td class="num">${snapshot ? `${money(w.equity)} → ${money(w.target_equity)}` : "—"}</td></tr>`,
            )
            .join("")
        : `<tr class="empty"><td colspan="7" class="dim">The profile names no agent.</td></tr>`,
    );
    const moves = a.moves ?? [];
    const m = alloc.querySelector("#pf-moves") as HTMLElement;
    m.className = moves.length ? "" : "dim";
    put(
      m,
      moves.length
        ? `<table class="pf-table" id="pf-moves-table"><thead><tr><th>agent</th><th>direction</th><th class="num">amount</th><th>type</th><th>reason</th></tr></thead><tbody>${moves
            .map(
              (mv) =>
                `<tr data-agent="${esc(mv.agent)}" data-actor="agent/${esc(mv.agent)}"><td>${esc(mv.agent)}</td><td class="${upDown(mv.amount)}">${sign(mv.amount) > 0 ? "▲ capital in" : sign(mv.amount) < 0 ? "▼ capital out" : "—"}</td><td class="num">${signedMoney(mv.amount)}</td><td>${esc(mv.type)}</td><td class="dim">${esc(mv.reason ?? "")}</td></tr>`,
            )
            .join("")}</tbody></table><p class="dim">A preview: nothing moves until a rebalance is commanded.</p>`
        : esc(snapshot ? `None: every drift is within ${within}.` : "None until the agents have an equity snapshot."),
    );
  }

  // Rebalance and sweep: commands on the log (trader role); the moves come back through the
  // read model's capital_moves query.
  const capitalMsg = alloc.querySelector("#pf-capital-msg") as HTMLElement;
  guard(alloc.querySelector("#pf-rebalance") as HTMLButtonElement, "portfolio.rebalance");
  guard(alloc.querySelector("#pf-distribute") as HTMLButtonElement, "portfolio.distribute");
  const keep = alloc.querySelector("#pf-keep") as HTMLInputElement;
  async function send(name: string, args: Record<string, unknown>): Promise<void> {
    const res = await command(name, args);
    capitalMsg.className = `pf-state ${res.ok ? "up" : "warn"}`;
    capitalMsg.textContent = describe(name, res);
    if (res.ok) setTimeout(() => void loadCapitalMoves(), 500);
  }
  (alloc.querySelector("#pf-rebalance") as HTMLButtonElement).addEventListener("click", () => {
    const args: Record<string, unknown> = {};
    if (profile) args.profile = profile;
    if (threshold.value.trim() !== "") args.threshold = threshold.value.trim();
    void send("portfolio.rebalance", args);
  });
  (alloc.querySelector("#pf-distribute") as HTMLButtonElement).addEventListener("click", () => {
    void send("portfolio.distribute", { keep: keep.value.trim() });
  });

  async function loadCapitalMoves(): Promise<void> {
    const box = alloc.querySelector("#pf-capital-moves") as HTMLElement;
    try {
      const moves: Move[] | null = await query("capital_moves", ""); // recorded ones: streams.CapitalMove
      const last = (moves ?? []).slice(-20).reverse();
      box.className = last.length ? "" : "dim";
      put(
        box,
        last.length
          ? `<table class="pf-table" id="pf-capital-table"><thead><tr><th>time</th><th>agent</th><th class="num">amount</th><th>type</th><th>reason</th></tr></thead><tbody>${last
              .map(
                (mv) =>
                  `<tr data-agent="${esc(mv.agent)}" data-actor="agent/${esc(mv.agent)}" data-type="${esc(mv.type)}"><td>${esc(time(mv.time))}</td><td>${esc(mv.agent)}</td><td class="num">${signedMoney(mv.amount)}</td><td>${esc(mv.type)}</td><td class="dim">${esc(mv.reason ?? "")}</td></tr>`,
              )
              .join("")}</tbody></table>`
          : "None yet: a rebalance or a sweep records one per agent it moves capital for.",
      );
    } catch (e) {
      say(allocMsg, refusal("the capital moves", e), false);
    }
  }

  // --- the Monte Carlo projection ---------------------------------------------------------
  const mc = panel(
    root,
    "pf-montecarlo",
    "Monte Carlo projection",
    `<form class="pf-tools pf-mc-form" id="pf-mc-form" novalidate>
      <label>agent <select id="pf-mc-agent" name="agent" data-agents required></select></label>
      <label>horizon (hours) <input id="pf-mc-horizon" name="horizon" type="number" min="1" max="${MAX_HORIZON}" step="1" value="720" required aria-describedby="pf-mc-bounds"></label>
      <label>goal (equity) <input id="pf-mc-goal" name="goal" type="number" min="0" step="any" placeholder="none" aria-describedby="pf-mc-bounds"></label>
      <label>paths <input id="pf-mc-paths" name="paths" type="number" min="1" max="${MAX_PATHS}" step="1" value="1000" aria-describedby="pf-mc-bounds"></label>
      <button type="submit" class="btn" id="pf-mc-run">Project</button>
      <span class="dim" id="pf-mc-bounds">horizon 1 to ${int(MAX_HORIZON)} hours · goal ≥ 0 · paths 1 to ${int(MAX_PATHS)}</span>
    </form>
    <div class="figs pf-figs" id="pf-mc-figs"></div>
    <div class="chart pf-chart" id="pf-fan" role="img" aria-label="fan chart of the projected equity: 5th to 95th percentiles"></div>
    <p class="legend pf-legend"><span><span aria-hidden="true" class="fan-key outer"></span> 5th–95th percentile</span><span><span aria-hidden="true" class="fan-key inner"></span> 25th–75th</span><span><span aria-hidden="true">━━</span> median</span><span><span aria-hidden="true" class="up">— —</span> goal</span><span><span aria-hidden="true" class="dim">╍╍</span> start</span></p>
    <div id="pf-mc-table"></div>`,
  );
  const mcMsg = mc.querySelector("[data-msg]") as HTMLElement;
  const mcForm = mc.querySelector("#pf-mc-form") as HTMLFormElement;
  const mcAgent = mc.querySelector("#pf-mc-agent") as HTMLSelectElement;
  const mcHorizon = mc.querySelector("#pf-mc-horizon") as HTMLInputElement;
  const mcGoal = mc.querySelector("#pf-mc-goal") as HTMLInputElement;
  const mcPaths = mc.querySelector("#pf-mc-paths") as HTMLInputElement;
  const mcRun = mc.querySelector("#pf-mc-run") as HTMLButtonElement;
  const fan = fanChart(mc.querySelector("#pf-fan") as HTMLElement);
  let projection: (Projection & { agent: string }) | null = null;
  let goalTouched = false;
  let mcAuto = true; // project by itself until the first projection, then on each new snapshot
  let mcOK = false; // the last projection asked for was answered
  let mcDrawnAt = ""; // agent@snapshot time the drawn projection started from
  let mcSeq = 0; // the newest projection asked for
  mcGoal.addEventListener("input", () => (goalTouched = true));

  /** field reads a number input as the text to send: what the user typed, the engine checks it. */
  function field(i: HTMLInputElement): string | null {
    if (i.validity.badInput) return null;
    return i.value.trim();
  }

  async function project(): Promise<void> {
    const agent = mcAgent.value;
    if (!agent) return;
    const p = new URLSearchParams({ agent });
    for (const [name, i] of [
      ["horizon", mcHorizon],
      ["goal", mcGoal],
      ["paths", mcPaths],
    ] as [string, HTMLInputElement][]) {
      const v = field(i);
      if (v === null) {
        mcOK = false;
        say(mcMsg, `✗ ${name}: not a number`, false);
        return;
      }
      if (v !== "") p.set(name, v);
    }
    const from = summary?.agents?.find((a) => a.agent === agent)?.latest?.time ?? 0;
    const seq = ++mcSeq;
    mcRun.disabled = true;
    say(mcMsg, `… projecting ${agent}`, true);
    try {
      const r: Projection = await query("montecarlo", p.toString());
      if (seq !== mcSeq) return; // a newer projection was asked for: it is the one to draw
      projection = { ...r, agent };
      mcOK = true;
      mcAuto = false;
      mcDrawnAt = `${agent}@${from}`;
      renderProjection(projection, from);
      say(mcMsg, "", true);
    } catch (e) {
      if (seq !== mcSeq) return;
      mcOK = false;
      say(mcMsg, refusal("the projection", e), false);
    } finally {
      if (seq === mcSeq) mcRun.disabled = false;
    }
  }

  function renderProjection(r: Projection & { agent: string }, from: number): void {
    const bands = r.bands ?? [];
    fan.set(bands, from, HOUR, r.start, r.goal ?? 0);
    const last = bands[bands.length - 1];
    put(
      mc.querySelector("[data-hint]") as HTMLElement,
      esc(`${r.agent} · ${int(r.paths)} paths · ${int(r.horizon)} h from ${from ? time(from) : "its latest snapshot"} · ${int(r.samples)} hourly returns drawn from`),
    );
    put(
      mc.querySelector("#pf-mc-figs") as HTMLElement,
      fig("start equity", esc(amount(r.start))) +
        fig(r.goal ? `P(reach ${amount(r.goal)} in ${int(r.horizon)} h)` : "P(reach a goal)", r.goal ? esc(`${num(r.p_goal * 100, 1)} %`) : `<span class="dim">no goal set</span>`) +
        fig("P(end below start)", esc(`${num(r.p_loss * 100, 1)} %`)) +
        fig(`median after ${int(r.horizon)} h`, last ? esc(amount(last.p50)) : "—"),
    );
    (mc.querySelector("#pf-mc-figs") as HTMLElement).dataset.pGoal = r.goal ? String(r.p_goal) : "";
    put(
      mc.querySelector("#pf-mc-table") as HTMLElement,
      last
        ? `<table class="pf-table"><thead><tr><th>after ${int(last.step)} h</th><th class="num">5th</th><th class="num">25th</th><th class="num">median</th><th class="num">75th</th><th class="num">95th</th></tr></thead><tbody><tr><td>equity percentile</td>${[last.p5, last.p25, last.p50, last.p75, last.p95].map((v) => `<td class="num">${esc(amount(v))}</td>`).join("")}</tr></tbody></table>`
        : "",
    );
  }

  mcForm.addEventListener("submit", (e) => {
    e.preventDefault();
    mcAuto = false;
    void project();
  });
  mcAgent.addEventListener("change", () => {
    goalTouched = goalTouched && mcGoal.value !== "";
    if (!goalTouched) defaultGoal(true);
  });

  /** defaultGoal proposes a goal of the agent's equity plus 10 % until the user types one. */
  function defaultGoal(force = false): void {
    if (goalTouched || (!force && mcGoal.value !== "")) return;
    const a = summary?.agents?.find((x) => x.agent === mcAgent.value);
    const e = Number(a?.latest?.equity);
    if (a && a.latest.time > 0 && Number.isFinite(e) && e > 0) mcGoal.value = String(Math.round(e * 1.1));
  }

  // --- the fills --------------------------------------------------------------------------
  const fl = panel(
    root,
    "pf-fills",
    "Fills",
    `<div class="pf-tools">
      <label>agent <select id="pf-fills-agent" data-agents><option value="">every agent</option></select></label>
      <label>per page <select id="pf-fills-limit">${options(
        FILL_PAGE_SIZES.map((n) => [String(n), String(n)]),
        "20",
      )}</select></label>
      <span class="pager" role="group" aria-label="pages of fills"><button type="button" class="btn" id="pf-fills-newer">‹ newer</button><span id="pf-fills-page" class="dim" aria-live="polite">—</span><button type="button" class="btn" id="pf-fills-older">older ›</button></span>
    </div>
    <div class="scroll-x"><table class="pf-table"><thead><tr><th title="event time, UTC">time (UTC)</th><th>agent</th><th>symbol</th><th>side</th><th class="num">qty</th><th class="num">price</th><th class="num">fee</th><th>liquidity</th><th>order · trade</th></tr></thead>
    <tbody id="pf-fills-body"><tr class="empty"><td colspan="9" class="dim">loading…</td></tr></tbody></table></div>`,
  );
  fl.dataset.actor = "stream/ORD"; // fills are order events on ORD
  const flMsg = fl.querySelector("[data-msg]") as HTMLElement;
  const flAgent = fl.querySelector("#pf-fills-agent") as HTMLSelectElement;
  const flLimit = fl.querySelector("#pf-fills-limit") as HTMLSelectElement;
  const newer = fl.querySelector("#pf-fills-newer") as HTMLButtonElement;
  const older = fl.querySelector("#pf-fills-older") as HTMLButtonElement;
  let offset = 0;
  let fillsTotal = 0;
  newer.disabled = older.disabled = true;

  let fillsSeq = 0;
  async function loadFills(): Promise<void> {
    const limit = Number(flLimit.value);
    const p = new URLSearchParams({ limit: String(limit), offset: String(offset) });
    if (flAgent.value) p.set("agent", flAgent.value);
    const seq = ++fillsSeq;
    try {
      const pg: FillPage = await query("fills", p.toString());
      if (seq !== fillsSeq) return;
      const items = pg.items ?? [];
      fillsTotal = pg.total;
      if (items.length === 0 && pg.total > 0 && offset > 0) {
        // the page emptied (a filter changed): back to the newest
        offset = 0;
        return loadFills();
      }
      const first = items.length ? pg.offset + 1 : 0;
      put(fl.querySelector("#pf-fills-page") as HTMLElement, esc(pg.total ? `${int(first)}–${int(pg.offset + items.length)} of ${int(pg.total)}` : "none"));
      put(fl.querySelector("[data-hint]") as HTMLElement, esc(`${int(pg.total)} fill${pg.total === 1 ? "" : "s"}, newest first`));
      newer.disabled = pg.offset <= 0;
      older.disabled = pg.offset + items.length >= pg.total;
      put(
        fl.querySelector("#pf-fills-body") as HTMLElement,
        items.length
          ? items
              .map((f) => {
                const at = time(f.time);
                return `<tr data-agent="${esc(f.agent)}" data-actor="agent/${esc(f.agent)}"><td title="${esc(at)}">${esc(at.slice(5, 19))}</td><td>${esc(f.agent)}</td><td title="${esc(f.venue)}">${esc(f.symbol)} <span class="dim">${esc(f.venue)}</span></td><td class="side-${esc(f.side)}">${f.side === "BUY" ? "▲ BUY" : f.side === "SELL" ? "▼ SELL" : esc(f.side)}</td><td class="num">${esc(exact(f.qty))}</td><td class="num">${money(f.price)}</td><td class="num">${money(f.fee)}</td><td>${f.maker ? "maker" : "taker"}</td><td class="dim ids" title="${esc(f.client_order_id)} · ${esc(f.trade_id)}">${esc(f.client_order_id)} · ${esc(f.trade_id)}</td></tr>`;
              })
              .join("")
          : `<tr class="empty"><td colspan="9" class="dim">No fills${flAgent.value ? ` for ${esc(flAgent.value)}` : ""} yet: they appear here as orders fill.</td></tr>`,
      );
      say(flMsg, "", true);
    } catch (e) {
      if (seq === fillsSeq) say(flMsg, refusal("the fills", e), false);
    }
  }
  newer.addEventListener("click", () => {
    offset = Math.max(0, offset - Number(flLimit.value));
    void loadFills();
  });
  older.addEventListener("click", () => {
    if (offset + Number(flLimit.value) >= fillsTotal) return;
    offset += Number(flLimit.value);
    void loadFills();
  });
  const restart = () => {
    offset = 0;
    void loadFills();
  };
  flAgent.addEventListener("change", restart);
  flLimit.addEventListener("change", restart);

  // --- the agents' selectors --------------------------------------------------------------
  let listed = "";
  function listAgents(all: string[]): void {
    const sorted = [...all].sort(byRank);
    if (sorted.join() === listed) return;
    listed = sorted.join();
    root.querySelectorAll<HTMLSelectElement>("select[data-agents]").forEach((sel) => {
      const cur = sel.value;
      const every = sel.id === "pf-mc-agent" ? [] : [["", "every agent"] as [string, string]];
      sel.innerHTML = options([...every, ...sorted.map((n) => [n, n] as [string, string])], cur);
      if (sel.id === "pf-mc-agent" && !cur && sorted.length) sel.value = sorted[0];
    });
  }

  // --- wiring -----------------------------------------------------------------------------
  function showSummary(s: Summary): void {
    summary = s;
    listAgents((s.agents ?? []).map((a) => a.agent));
    renderSummary(s);
    say(sumMsg, "", true);
  }
  async function loadSummary(): Promise<void> {
    try {
      const s: Summary = (live.topics.get("portfolio") as Summary | undefined) ?? (await query("summary"));
      showSummary(s);
      await loadEquity(s);
      defaultGoal();
      // project by itself at first, then again from each newer snapshot of the agent (a
      // projection needs two snapshots: one return to draw from)
      const a = s.agents?.find((x) => x.agent === mcAgent.value);
      const ready = a && a.latest.time > 0 && (curves.points()[a.agent] ?? 0) >= 2;
      if (ready && (mcAuto || (mcOK && projection?.agent === a.agent && mcDrawnAt !== `${a.agent}@${a.latest.time}`))) await project();
    } catch (e) {
      say(sumMsg, refusal("the summary", e), false);
    }
  }

  let busy = false;
  let again = false;
  async function refresh(): Promise<void> {
    if (document.hidden) return;
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      await Promise.all([loadSummary(), loadPositions(), loadAllocation(), loadCapitalMoves(), loadFills()]);
    } finally {
      busy = false;
    }
    if (again) {
      again = false;
      void refresh();
    }
  }

  // the agents' configured order first (as on the Agents page), then everything else
  query("agents")
    .then((list: { name: string }[] | null) => (names = (list ?? []).map((v) => v.name)))
    .catch(() => {
      /* by name, then */
    })
    .finally(() => void refresh());
  setInterval(() => void refresh(), REFRESH_MS);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) void refresh();
  });
  live.onState((s) => {
    if (s === "live" && summary) void refresh(); // what was missed while disconnected
  });
  // the summary as it changes
  live.on("portfolio", (_t, s: Summary) => {
    if (s && typeof s === "object") showSummary(s);
  });
  // an agent's state, fills or open orders changing on the websocket: ask again soon
  const seen = new Map<string, string>();
  let soon = 0;
  live.on("agent/", (_t, v: { name: string; state: string; fills: number; open_orders: number }) => {
    if (!v || typeof v !== "object") return;
    const k = `${v.state}|${v.fills}|${v.open_orders}`;
    const before = seen.get(v.name);
    seen.set(v.name, k);
    if (before === undefined || before === k || soon) return;
    soon = window.setTimeout(() => {
      soon = 0;
      void refresh();
    }, 400);
  });

  window.__portfolio = {
    equity: () => curves.points(),
    drawdown: () => Object.fromEntries([...drawdowns].map(([k, d]) => [k, { points: d.length, max: maxDrawdown(d) }])),
    fan: () => ({ points: fan.points(), p_goal: projection?.goal ? projection.p_goal : null, p_loss: projection ? projection.p_loss : null, agent: projection?.agent ?? "" }),
  };
}
