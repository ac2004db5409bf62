// The pages: each renders into the content area beside the neural view and keeps itself
// current from the live topics and the queries; no invented numbers.
import { Live, query, AuthError } from "./live";
import { Topology } from "./neural";
import { esc, dl, num, int, time, h } from "./format";
import { panel } from "./panel";
import { agentsPage } from "./agents";
import { portfolioPage } from "./portfolio";
import { healthPage } from "./health";
import { modelsPage } from "./models";
import { datasetsPage } from "./datasets";
import { marketsPage } from "./markets";
import { trainingPage } from "./training";

export interface Page {
  path: string;
  name: string;
  wide: boolean; // the neural view full-width above the content
  // the websocket topics (prefixes, web.Topics) the page reads, besides the neural view's
  // "graph": a tab receives only these
  topics: string[];
}

export const PAGES: Page[] = [
  { path: "/", name: "Dashboard", wide: true, topics: ["engine", "model/"] },
  { path: "/markets/", name: "Markets", wide: true, topics: ["symbol/", "signals", "orders", "model/"] },
  { path: "/datasets/", name: "Datasets", wide: true, topics: [] },
  { path: "/training/", name: "Training", wide: false, topics: ["training/"] },
  { path: "/models/", name: "Models", wide: false, topics: ["model/"] },
  { path: "/agents/", name: "Agents", wide: false, topics: ["agent/", "risk", "orders", "agent_events"] },
  { path: "/portfolio/", name: "Portfolio", wide: false, topics: ["agent/"] },
  { path: "/health/", name: "System Health", wide: true, topics: ["engine", "health"] },
];

export function renderPage(p: Page, root: HTMLElement, live: Live): void {
  switch (p.path) {
    case "/":
      return dashboard(root, live);
    case "/markets/":
      return marketsPage(root, live);
    case "/datasets/":
      return datasetsPage(root, live);
    case "/training/":
      return trainingPage(root, live);
    case "/models/":
      return modelsPage(root, live);
    case "/agents/":
      return agentsPage(root, live);
    case "/portfolio/":
      return portfolioPage(root, live);
    case "/health/":
      return healthPage(root, live);
  }
}

function figure(label: string, id: string): string {
  return `<div class="fig"><span class="fig-label">${esc(label)}</span><span class="fig-value" id="${id}" data-live>—</span></div>`;
}

function set(id: string, v: string): void {
  const e = document.getElementById(id);
  if (e && e.textContent !== v) e.textContent = v;
}

function modelTotals(live: Live): { requests: number; signals: number; errors: number } {
  const t = { requests: 0, signals: 0, errors: 0 };
  for (const [k, v] of live.topics) {
    if (!k.startsWith("model/")) continue;
    t.requests += v.requests ?? 0;
    t.signals += v.signals ?? 0;
    t.errors += v.errors ?? 0;
  }
  return t;
}

function dashboard(root: HTMLElement, live: Live): void {
  const b = panel(root, "Key figures", "figures");
  b.innerHTML = `<div class="figs">
    ${figure("event time", "f-time")}${figure("MD events published", "f-pub")}${figure("events routed", "f-routed")}
    ${figure("symbols", "f-symbols")}${figure("feed", "f-feed")}${figure("messages / s into MD", "f-rate")}
    ${figure("model requests", "f-req")}${figure("signals", "f-sig")}${figure("neurons · synapses", "f-graph")}</div>`;
  live.on("engine", (_t, e) => {
    set("f-time", time(e.event_time));
    set("f-pub", int(e.log?.published));
    set("f-routed", int(e.graph?.routed));
    set("f-symbols", int(e.graph?.symbols));
    set("f-feed", e.feed_finished ? "■ finished" : "▶ replaying");
  });
  live.on("graph", (_t, g: Topology) => {
    const md = g.edges.find((e) => e.to === "stream/MD");
    set("f-rate", md ? num(md.rate, 0) : "—");
    set("f-graph", `${g.nodes.length} · ${g.edges.length}`);
  });
  live.on("model/", () => {
    const t = modelTotals(live);
    set("f-req", int(t.requests));
    set("f-sig", int(t.signals));
  });
}

function queryFailed(id: string): (e: unknown) => void {
  return (e) => {
    if (e instanceof AuthError) window.dispatchEvent(new Event("synapse-auth"));
    const el = document.getElementById(id);
    if (el) el.textContent = `could not load: ${e instanceof Error ? e.message : e}`;
  };
}
