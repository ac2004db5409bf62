// The Agents page: one card per trading agent (state, P&L, equity curve, positions, the
// start/stop/halt/resume commands), the risk gate with the kill switch, and the newest order
// events. Everything is live from the websocket topics agent/<NAME>, risk, orders and
// agent_events; the agents, orders and risk queries fill the page before the first frame and
// the orders query fills the gaps the websocket's coalescing leaves (it keeps only the
// newest order event between two frames).
import { Live, query, AuthError } from "./live";
import { esc, int, time, exact, put } from "./format";
import { command, describe } from "./commands";
import { may, titled } from "./access";
import { equityChart, EquityChart } from "./charts";
import { AgentState, AgentView, AgentEvent, OrderEvent, RiskView, STATE_BADGE, fig, say, orderLine, agentFigures, agentCounts, positionsTable, rejectionsTable, limitsTable } from "./agentview";

/** The agent commands, what each does, and in which states it makes sense (agents.start and
 * agents.resume both make an agent ACTIVE; resume is the way back from a halt). */
const AGENT_COMMANDS: { name: string; label: string; title: string; allowed: (s: AgentState) => boolean }[] = [
  { name: "agents.start", label: "Start", title: "ACTIVE: trade on its signals again (from REDUCING or HALTED)", allowed: (s) => s !== "ACTIVE" },
  { name: "agents.stop", label: "Stop", title: "REDUCING: close its positions, then send only orders that shrink exposure", allowed: (s) => s !== "REDUCING" },
  { name: "agents.halt", label: "Halt", title: "HALTED: cancel its open orders and send nothing more", allowed: (s) => s !== "HALTED" },
  { name: "agents.resume", label: "Resume", title: "ACTIVE again after a halt; its drawdown is measured from now", allowed: (s) => s === "HALTED" },
];

/** orderKey identifies an order event as the log does (its ID): order, step and trade. */
export function orderKey(o: OrderEvent): string {
  return `${o.client_order_id}.${o.type}${o.type === "fill" ? "." + (o.trade_id ?? "") : ""}`;
}

/** focusedAgent is the agent the URL's #agent=NAME names. */
export function focusedAgent(): string | null {
  return new URLSearchParams(location.hash.slice(1)).get("agent");
}

interface Card {
  root: HTMLElement;
  badge: HTMLElement;
  reason: HTMLElement;
  figs: HTMLElement;
  counts: HTMLElement;
  positions: HTMLElement;
  last: HTMLElement;
  msg: HTMLElement;
  buttons: Map<string, HTMLButtonElement>;
  chart: EquityChart;
  view: AgentView | null;
  pending: boolean;
}

export function agentsPage(root: HTMLElement, live: Live): void {
  const reducedMotion = document.body.classList.contains("reduced-motion") || matchMedia("(prefers-reduced-motion: reduce)").matches;

  // --- the risk gate and the global controls ------------------------------------------
  const risk = document.createElement("section");
  risk.className = "glass card risk-panel";
  risk.id = "risk";
  risk.dataset.actor = "risk";
  risk.tabIndex = -1;
  risk.innerHTML = `
    <div class="panel-head"><h2>Risk gate</h2><span id="ks-state" class="badge ks-unknown" role="status" data-live>… kill switch</span></div>
    <div class="controls">
      <button type="button" class="btn danger" id="ks-on" title="${esc(titled("killswitch.on", "Halt every agent, cancel every open order, and reject every order until it is turned off"))}">Kill switch on…</button>
      <button type="button" class="btn" id="ks-off" title="${esc(titled("killswitch.off", "Let orders through again (agents stay HALTED until resumed)"))}">Kill switch off</button>
      <button type="button" class="btn" id="cancel-all" title="${esc(titled("orders.cancel_all", "Cancel every open order of every agent"))}">Cancel all orders</button>
    </div>
    <form id="ks-form" class="ks-form" hidden>
      <label for="ks-reason">Why? (kept on the log with the command)</label>
      <input id="ks-reason" name="reason" maxlength="200" autocomplete="off" placeholder="e.g. exchange incident">
      <button type="submit" class="btn danger" id="ks-confirm">Turn the kill switch on</button>
      <button type="button" class="btn" id="ks-cancel">Cancel</button>
    </form>
    <p id="cmd-msg" class="msg" role="status" aria-live="polite"></p>
    <div class="risk-grid">
      <div>
        <div class="figs" id="risk-figs">${fig("orders passed", "—")}${fig("rejected", "—")}${fig("open orders", "—")}</div>
        <h3>Last rejection</h3><p id="risk-last" class="dim">none</p>
        <p id="risk-problems" class="dim"></p>
      </div>
      <div><h3>Rejections by check</h3><div id="risk-rejected"><span class="dim">none</span></div></div>
    </div>
    <div id="agent-events-box" hidden><h3>State changes</h3><div id="agent-events"></div></div>`;
  root.appendChild(risk);
  const ksState = risk.querySelector("#ks-state") as HTMLElement;
  const ksOn = risk.querySelector("#ks-on") as HTMLButtonElement;
  const ksOff = risk.querySelector("#ks-off") as HTMLButtonElement;
  const cancelAll = risk.querySelector("#cancel-all") as HTMLButtonElement;
  const ksForm = risk.querySelector("#ks-form") as HTMLFormElement;
  const ksReason = risk.querySelector("#ks-reason") as HTMLInputElement;
  const cmdMsg = risk.querySelector("#cmd-msg") as HTMLElement;
  let riskView: RiskView | null = null;
  let riskPending = false;

  function renderRiskButtons(): void {
    const on = riskView?.kill_switch;
    ksOn.disabled = riskPending || on === true || !ksForm.hidden || !may("killswitch.on");
    ksOff.disabled = riskPending || on !== true || !may("killswitch.off");
    cancelAll.disabled = riskPending || !may("orders.cancel_all");
    (risk.querySelector("#ks-confirm") as HTMLButtonElement).disabled = riskPending || !may("killswitch.on");
  }

  function renderRisk(v: RiskView): void {
    riskView = v;
    ksState.className = `badge ${v.kill_switch ? "ks-on" : "ks-off"}`;
    ksState.textContent = v.kill_switch ? "● KILL SWITCH ON — every order is rejected" : "○ kill switch off";
    risk.classList.toggle("killed", v.kill_switch);
    const total = Object.values(v.rejected ?? {}).reduce((a, b) => a + b, 0);
    put(risk.querySelector("#risk-figs") as HTMLElement, fig("orders passed", int(v.passed)) + fig("rejected", int(total)) + fig("open orders", int(v.open_orders)));
    put(risk.querySelector("#risk-rejected") as HTMLElement, rejectionsTable(v.rejected));
    const last = risk.querySelector("#risk-last") as HTMLElement;
    last.className = v.last_reject ? "" : "dim";
    last.textContent = v.last_reject || "none";
    renderRiskButtons();
  }

  async function riskCommand(name: string, args: Record<string, unknown>): Promise<void> {
    riskPending = true;
    renderRiskButtons();
    say(cmdMsg, `… ${name} sent`, true);
    const res = await command(name, args);
    riskPending = false;
    say(cmdMsg, describe(name, res), res.ok);
    renderRiskButtons();
  }

  ksOn.addEventListener("click", () => {
    ksForm.hidden = false;
    renderRiskButtons();
    ksReason.focus();
  });
  const closeForm = () => {
    ksForm.hidden = true;
    renderRiskButtons();
    ksOn.focus();
  };
  risk.querySelector("#ks-cancel")!.addEventListener("click", closeForm);
  ksForm.addEventListener("keydown", (e) => {
    if (e.key === "Escape") closeForm();
  });
  ksForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const reason = ksReason.value.trim();
    ksForm.hidden = true;
    ksReason.value = "";
    void riskCommand("killswitch.on", reason ? { reason } : {});
  });
  ksOff.addEventListener("click", () => void riskCommand("killswitch.off", {}));
  cancelAll.addEventListener("click", () => void riskCommand("orders.cancel_all", {}));
  renderRiskButtons();

  const events: AgentEvent[] = [];
  function renderEvents(): void {
    const el = risk.querySelector("#agent-events") as HTMLElement;
    if (!events.length) return;
    (risk.querySelector("#agent-events-box") as HTMLElement).hidden = false;
    el.innerHTML = `<table><thead><tr><th>time</th><th>agent</th><th>state</th><th>reason</th></tr></thead><tbody>${events
      .slice(0, 10)
      .map((ev) => `<tr data-actor="agent/${esc(ev.agent)}"><td>${esc(time(ev.time))}</td><td>${esc(ev.agent)}</td><td>${esc(ev.previous)} → <b>${esc(ev.state)}</b></td><td>${esc(ev.reason)}</td></tr>`)
      .join("")}</tbody></table>`;
  }

  // --- the agents -----------------------------------------------------------------------
  const grid = document.createElement("div");
  grid.className = "agents";
  grid.innerHTML = `<p class="dim" id="agents-empty">Waiting for the agents…</p>`;
  root.appendChild(grid);
  const cards = new Map<string, Card>();
  let order: string[] = []; // the configured order, once the agents query answered
  const rank = (n: string) => (order.includes(n) ? order.indexOf(n) : order.length);
  const before = (a: string, b: string) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);

  function card(name: string): Card {
    let c = cards.get(name);
    if (c) return c;
    grid.querySelector("#agents-empty")?.remove();
    const sec = document.createElement("section");
    sec.className = "glass card agent";
    sec.id = `agent-${name}`;
    sec.dataset.agent = name;
    sec.dataset.actor = `agent/${name}`;
    sec.tabIndex = -1;
    sec.setAttribute("aria-label", `agent ${name}`);
    sec.innerHTML = `
      <div class="panel-head"><h2>${esc(name)}</h2><span class="badge state-badge" role="status"></span><span class="sub dim"></span></div>
      <p class="reason" hidden></p>
      <div class="agent-row">
        <div class="agent-figs figs"></div>
        <div class="chart equity" aria-label="equity curve of ${esc(name)}"></div>
      </div>
      <div class="counts"></div>
      <h3>Positions</h3><div class="positions"></div>
      <h3>Risk limits <span class="dim">(configured · in use now)</span></h3><div class="limits-box"></div>
      <p class="last-order"></p>
      <div class="controls" role="group" aria-label="commands for ${esc(name)}">
        ${AGENT_COMMANDS.map((k) => `<button type="button" class="btn" data-cmd="${k.name}" title="${esc(titled(k.name, k.title))}">${k.label}</button>`).join("")}
        <button type="button" class="btn" data-cmd="orders.cancel_all" title="${esc(titled("orders.cancel_all", `Cancel the open orders of ${name}`))}">Cancel its orders</button>
      </div>
      <p class="msg" role="status" aria-live="polite"></p>`;
    // keep the cards in the configured order (by name until it is known)
    const after = [...cards.keys()].sort(before).find((n) => before(n, name) > 0);
    grid.insertBefore(sec, after ? cards.get(after)!.root : null);
    const buttons = new Map<string, HTMLButtonElement>();
    sec.querySelectorAll<HTMLButtonElement>("button[data-cmd]").forEach((b) => buttons.set(b.dataset.cmd!, b));
    c = {
      root: sec,
      badge: sec.querySelector(".state-badge")!,
      reason: sec.querySelector(".reason")!,
      figs: sec.querySelector(".agent-figs")!,
      counts: sec.querySelector(".counts")!,
      positions: sec.querySelector(".positions")!,
      last: sec.querySelector(".last-order")!,
      msg: sec.querySelector(".msg")!,
      buttons,
      chart: equityChart(sec.querySelector(".chart") as HTMLElement),
      view: null,
      pending: false,
    };
    cards.set(name, c);
    const cc = c;
    for (const [cmd, b] of buttons) {
      b.addEventListener("click", async () => {
        cc.pending = true;
        renderButtons(cc);
        say(cc.msg, `… ${cmd} sent`, true);
        const res = await command(cmd, { agent: name });
        cc.pending = false;
        say(cc.msg, describe(cmd, res), res.ok);
        renderButtons(cc);
      });
    }
    if (focusedAgent() === name) focus(name);
    return c;
  }

  function renderButtons(c: Card): void {
    const st = c.view?.state;
    for (const k of AGENT_COMMANDS) {
      const b = c.buttons.get(k.name)!;
      b.disabled = c.pending || !st || !k.allowed(st) || !may(k.name);
    }
    c.buttons.get("orders.cancel_all")!.disabled = c.pending || !c.view || c.view.open_orders === 0 || !may("orders.cancel_all");
  }

  function renderAgent(v: AgentView): void {
    const c = card(v.name);
    c.view = v;
    if (c.root.dataset.state !== v.state) {
      c.root.dataset.state = v.state;
      c.badge.className = `badge state-badge state-${v.state}`;
      c.badge.textContent = STATE_BADGE[v.state] ?? v.state;
    }
    put(c.root.querySelector(".sub") as HTMLElement, esc(`${v.profile} · ${v.execution} · follows ${(v.models ?? []).join(", ") || "—"}`));
    c.reason.hidden = !v.reason;
    put(c.reason, v.reason ? esc(`reason: ${v.reason}`) : "");
    put(c.figs, agentFigures(v));
    put(c.counts, agentCounts(v));
    put(c.positions, positionsTable(v.positions));
    put(c.root.querySelector(".limits-box") as HTMLElement, limitsTable(v));
    put(c.last, orderLine(v.last_order));
    c.chart.set(v.curve, v.event_time > 0 ? { time: v.event_time, equity: v.totals.equity } : undefined);
    renderButtons(c);
  }

  function focus(name: string | null): void {
    for (const [n, c] of cards) c.root.classList.toggle("focused", n === name);
    if (!name) return;
    const c = cards.get(name);
    if (!c) return; // focused when its card appears
    c.root.scrollIntoView({ block: "start", behavior: reducedMotion ? "auto" : "smooth" });
    c.root.focus({ preventScroll: true });
  }
  window.addEventListener("hashchange", () => focus(focusedAgent()));

  // --- the orders -----------------------------------------------------------------------
  const ord = document.createElement("section");
  ord.className = "glass card orders-panel";
  ord.id = "orders";
  ord.dataset.actor = "stream/ORD";
  ord.innerHTML = `<div class="panel-head"><h2>Orders</h2><span class="hint" id="orders-count">newest first</span></div>
    <div class="table-wrap"><table><thead><tr><th title="event time, UTC">time (UTC)</th><th>agent</th><th>symbol</th><th>side</th><th>type</th><th class="num">qty</th><th>event</th><th class="num">fill qty @ price</th><th>reason</th></tr></thead>
    <tbody id="orders-body"><tr class="empty"><td colspan="9" class="dim">No order events yet: they appear here as agents send orders.</td></tr></tbody></table></div>`;
  root.appendChild(ord);
  const MAX_ORDERS = 200;
  const orders: OrderEvent[] = []; // newest first
  const seen = new Set<string>();
  let ordersDirty = false;

  function addOrders(list: OrderEvent[]): void {
    let added = false;
    for (const o of list) {
      if (!o || typeof o !== "object" || !o.client_order_id) continue;
      const k = orderKey(o);
      if (seen.has(k)) continue;
      seen.add(k);
      orders.push(o);
      added = true;
    }
    if (!added) return;
    // newest first by event time; events of one instant keep their arrival order, reversed
    const idx = new Map(orders.map((o, i) => [o, i]));
    orders.sort((a, b) => b.time - a.time || idx.get(b)! - idx.get(a)!);
    for (const o of orders.splice(MAX_ORDERS)) seen.delete(orderKey(o));
    if (!ordersDirty) {
      ordersDirty = true;
      requestAnimationFrame(renderOrders);
    }
  }

  function renderOrders(): void {
    ordersDirty = false;
    if (!orders.length) return;
    (ord.querySelector("#orders-count") as HTMLElement).textContent = `${orders.length} newest events, newest first`;
    (ord.querySelector("#orders-body") as HTMLElement).innerHTML = orders
      .map((o) => {
        const fill = o.type === "fill" ? `${esc(exact(o.fill_qty))} @ ${esc(exact(o.fill_price))}` : "";
        const type = esc(o.order_type + (o.price ? ` ${exact(o.price)}` : "")) + (o.reduce_only ? ` <span class="tag" title="reduce-only: it can only shrink the position">RO</span>` : "");
        const why = [o.reason, o.source ? `(${o.source})` : ""].filter(Boolean).join(" ");
        const at = time(o.time);
        return `<tr class="ev-${esc(o.type)}" data-actor="agent/${esc(o.agent)}"><td title="${esc(at)}">${esc(at.slice(5, 19))}</td><td>${esc(o.agent)}</td><td title="${esc(o.venue)}">${esc(o.symbol)}</td><td class="side-${esc(o.side)}">${o.side === "BUY" ? "▲ BUY" : o.side === "SELL" ? "▼ SELL" : esc(o.side)}</td><td>${type}</td><td class="num">${esc(exact(o.qty))}</td><td><span class="ev">${esc(o.type)}</span></td><td class="num">${fill}</td><td class="why">${esc(why)}</td></tr>`;
      })
      .join("");
  }

  // --- wiring ---------------------------------------------------------------------------
  const failed = (where: string) => (e: unknown) => {
    if (e instanceof AuthError) window.dispatchEvent(new Event("synapse-auth"));
    say(cmdMsg, `could not load ${where}: ${e instanceof Error ? e.message : e}`, false);
  };
  query("agents")
    .then((list: AgentView[]) => {
      order = (list ?? []).map((v) => v.name);
      for (const v of list ?? []) if (!cards.get(v.name)?.view) renderAgent(v);
      for (const n of [...cards.keys()].sort(before)) grid.appendChild(cards.get(n)!.root);
      const empty = grid.querySelector("#agents-empty");
      if (!list?.length && empty) empty.textContent = "No agents are configured.";
    })
    .catch(failed("the agents"));
  const refresh = () => {
    query("orders")
      .then((list: OrderEvent[] | null) => addOrders(list ?? []))
      .catch(failed("the orders"));
    query("risk")
      .then((r) => {
        if (!riskView && r.gate) renderRisk(r.gate);
        const p = risk.querySelector("#risk-problems") as HTMLElement;
        p.className = r.problems > 0 ? "warn" : "dim";
        p.textContent = r.problems > 0 ? `⚠ ${int(r.problems)} desk problem(s); the last: ${r.last_problem}` : "no desk problems";
      })
      .catch(() => {
        /* the gate has not reported yet; the websocket brings it */
      });
  };
  refresh();
  setInterval(refresh, 3000);
  live.onState((s) => {
    if (s === "live") refresh(); // fill what was missed while disconnected
  });
  live.on("agent/", (_t, v: AgentView) => renderAgent(v));
  live.on("risk", (t, v: RiskView) => {
    if (t === "risk") renderRisk(v);
  });
  live.on("orders", (t, o: OrderEvent) => {
    if (t === "orders") addOrders([o]);
  });
  live.on("agent_events", (_t, ev: AgentEvent) => {
    if (events.length && events[0].agent === ev.agent && events[0].cause === ev.cause) return;
    events.unshift(ev);
    events.splice(20);
    renderEvents();
  });
  if (location.hash === "#risk" || location.hash === "#orders") document.querySelector(location.hash)?.scrollIntoView();
}
