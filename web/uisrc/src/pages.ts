// The pages: each renders into the content area beside the neural view and keeps itself
// current from the live topics and the queries; no invented numbers.
import { Live, query, AuthError } from "./live";
import { GNode, Topology } from "./neural";
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
  // the neurons of the actors the page shows, emphasised in the neural view (the others are
  // dimmed); none: every neuron as it is
  actors?: (n: GNode) => boolean;
}

/** actors picks the neurons of these kinds and these IDs (cmd/synapse/topology.go). */
function actors(kinds: string[], ids: string[] = []): (n: GNode) => boolean {
  return (n) => kinds.includes(n.kind) || ids.includes(n.id);
}

export const PAGES: Page[] = [
  { path: "/", name: "Dashboard", wide: true, topics: ["engine", "model/"] },
  { path: "/markets/", name: "Markets", wide: true, topics: ["symbol/", "signals", "orders", "model/"], actors: actors(["feed", "symbol"], ["stream/MD"]) },
  { path: "/datasets/", name: "Datasets", wide: true, topics: [], actors: actors(["feed", "stream"]) },
  { path: "/training/", name: "Training", wide: false, topics: ["training/"], actors: actors(["model"]) },
  { path: "/models/", name: "Models", wide: false, topics: ["model/"], actors: actors(["model", "ensemble", "batcher", "runtime"]) },
  { path: "/agents/", name: "Agents", wide: false, topics: ["agent/", "risk", "orders", "agent_events"], actors: actors(["agent", "risk", "venue"], ["stream/ORD"]) },
  { path: "/portfolio/", name: "Portfolio", wide: false, topics: ["agent/", "portfolio"], actors: actors(["agent", "venue"], ["stream/ORD"]) },
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

/** figure is a key figure; actor, the neuron(s) it is a figure of (data-actor). */
function figure(label: string, id: string, actor = ""): string {
  return `<div class="fig"${actor ? ` data-actor="${actor}"` : ""}><span class="fig-label">${esc(label)}</span><span class="fig-value" id="${id}" data-live>—</span></div>`;
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
    ${figure("event time", "f-time")}${figure("MD events published, this run", "f-pub", "stream/MD")}${figure("events routed, this run", "f-routed", "router")}
    ${figure("symbols", "f-symbols")}${figure("feed", "f-feed", "feed")}${figure("messages / s into MD", "f-rate", "feed stream/MD")}
    ${figure("model requests, this run", "f-req", "batcher")}${figure("signals, this run", "f-sig", "stream/SIG")}${figure("neurons · synapses", "f-graph")}</div>`;
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
