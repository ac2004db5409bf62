// Synapse UI entry point: the page shell (nav, connection banner, neural view, tooltip and
// detail panel) shared by every page, then the page named by the URL path.
import "./style.css";
import { Live, query, AuthError, WSState } from "./live";
import { NeuralView, GNode, Topology, LEGEND } from "./neural";
import { esc, dl, summary, int, num } from "./format";
import { PAGES, renderPage } from "./pages";
import { loadAccess } from "./access";

declare global {
  interface Window {
    __synapse: unknown;
  }
}

const reducedMotion = matchMedia("(prefers-reduced-motion: reduce)").matches;
const path = location.pathname.endsWith("/") ? location.pathname : location.pathname + "/";
const page = PAGES.find((p) => p.path === path) ?? PAGES[0];
const live = new Live(["graph", ...page.topics]);
document.title = `Synapse — ${page.name}`;

const app = document.getElementById("app")!;
app.innerHTML = `
<header class="top">
  <a class="logo" href="/">SYNAPSE</a>
  <nav>${PAGES.map((p) => `<a href="${p.path}"${p === page ? ' aria-current="page"' : ""}>${esc(p.name)}</a>`).join("")}</nav>
  <span id="who" class="who" title="the token this page acts with, and its role" hidden></span>
  <span id="conn" class="conn" role="status"></span>
</header>
<div id="banner" class="banner" role="alert" hidden></div>
<main class="${page.wide ? "wide" : "split"} page-${page.path === "/" ? "dashboard" : page.path.slice(1, -1)}">
  <section class="glass neural" aria-label="live actor graph (neural view)">
    <div class="panel-head"><h2>Neural view</h2><span class="hint">drag to pan · wheel to zoom · click a neuron</span><button id="fit" class="btn" type="button">fit</button></div>
    <canvas id="net"></canvas>
    <div class="legend">${LEGEND.map((k) => `<span class="k-${k.style}" data-style="${k.style}"><span aria-hidden="true">${k.symbol}</span> ${esc(k.label)}</span>`).join("")}</div>
  </section>
  <div id="content" class="content"></div>
</main>
<div id="tip" class="glass tip" hidden></div>
<aside id="detail" class="glass detail" hidden aria-label="neuron detail"></aside>`;

// connection state: header pill and banner (text and symbol, never colour alone)
const conn = document.getElementById("conn")!;
const banner = document.getElementById("banner")!;
let authProblem = false;
function showConn(s: WSState): void {
  conn.className = `conn ${s}`;
  conn.textContent = s === "live" ? "● live" : s === "connecting" ? "○ connecting…" : `↻ reconnecting (retry in ${live.retryIn}s)`;
  if (authProblem) return;
  if (s === "live") {
    banner.hidden = true;
  } else if (s === "reconnecting") {
    banner.hidden = false;
    banner.textContent = `⚠ Disconnected from the engine — reconnecting (next try in ${live.retryIn}s). Values shown are the last received.`;
  }
}
live.onState(showConn);

function showAuthProblem(): void {
  authProblem = true;
  banner.hidden = false;
  banner.textContent = "⚠ Not signed in: open the link synapse printed (with ?token=) to sign in.";
}
window.addEventListener("synapse-auth", showAuthProblem);
query("engine").catch((e) => {
  if (e instanceof AuthError) showAuthProblem();
});

// neural view, tooltip and detail panel
const tip = document.getElementById("tip")!;
const detail = document.getElementById("detail")!;
let detailNode: string | null = null;

function nodeRows(n: GNode): [string, string][] {
  const rows: [string, string][] = [
    ["kind", n.kind],
    ["count", int(n.count)],
    ["rate", `${num(n.rate, 1)}/s`],
    ["load", `${Math.round(n.load * 100)}%`],
  ];
  if (n.status) rows.push(["status", n.status]);
  return rows;
}

/** peeked holds the state of topics the page does not subscribe to, read by the state query
 * when a neuron showing one is hovered or opened (each at most every 2 s). */
const peeked = new Map<string, { at: number; data: unknown }>();

/** stateOf is the live state a neuron shows: from the websocket when the page subscribes to
 * its topic, else the last state query's answer, asking again (then calling shown) when it is
 * over 2 s old. */
function stateOf(topic: string | undefined, shown: () => void): any {
  if (!topic) return undefined;
  if (live.subscribes(topic)) return live.topics.get(topic);
  const p = peeked.get(topic);
  if (!p || Date.now() - p.at > 2000) {
    peeked.set(topic, { at: Date.now(), data: p?.data });
    query("state", `topic=${encodeURIComponent(topic)}`)
      .then((data) => {
        peeked.set(topic, { at: Date.now(), data });
        shown();
      })
      .catch(() => {
        /* no state for it (yet): the neuron's own figures are shown */
      });
  }
  return p?.data;
}

let hovered: GNode | null = null; // the neuron under the pointer

/** showTip shows the tooltip of the neuron under the pointer (none: hides it). */
function showTip(n: GNode | null, x: number, y: number): void {
  hovered = n;
  if (!n) {
    tip.hidden = true;
    return;
  }
  const state = stateOf(n.topic, () => {
    if (hovered?.id === n.id) showTip(n, x, y);
  });
  const rows = nodeRows(n).slice(1, 4).concat(state ? summary(state, 8) : []);
  tip.innerHTML = `<b>${esc(n.label)}</b> <span class="dim">${esc(n.kind)}${n.topic ? " · " + esc(n.topic) : ""}</span>${dl(rows)}`;
  tip.hidden = false;
  const tx = Math.min(x + 16, window.innerWidth - tip.offsetWidth - 8);
  const ty = Math.min(y + 16, window.innerHeight - tip.offsetHeight - 8);
  tip.style.transform = `translate(${tx}px, ${ty}px)`;
}

/** linked is a style rule marking the panels and rows that show the hovered neuron (their
 * data-actor names its ID): a rule rather than a class, so that a row redrawn while the
 * pointer rests on the neuron stays marked. */
const linked = document.head.appendChild(document.createElement("style"));
function linkPanels(n: GNode | null): void {
  const sel = n ? `#content [data-actor~="${CSS.escape(n.id)}"]` : "";
  const rule = sel ? `${sel} { outline: 2px solid var(--accent); outline-offset: 3px; } ${sel}:is(tr, td) { outline-offset: -2px; background: rgba(122, 162, 255, 0.16); }` : "";
  if (linked.textContent !== rule) linked.textContent = rule;
}

const view = new NeuralView(document.getElementById("net") as HTMLCanvasElement, {
  reducedMotion,
  onHover(n, x, y) {
    linkPanels(n);
    showTip(n, x, y);
  },
  onClick(n) {
    // an agent neuron opens its card on the Agents page; other neurons open the detail panel
    if (n.kind === "agent") {
      openAgent(n.label);
      return;
    }
    detailNode = n.id;
    renderDetail();
    showDetail(true);
  },
});

/** showDetail opens or closes the detail panel. Open, the page makes room for it on the
 * right (the body's detail-open class): the neural view refits into what is left, so that
 * no neuron and not its fit button are under the panel. */
function showDetail(open: boolean): void {
  detail.hidden = !open;
  document.body.classList.toggle("detail-open", open);
  if (!open) detailNode = null;
}

/** openAgent shows an agent's card: on the Agents page by the URL hash, else by going there. */
function openAgent(name: string): void {
  const hash = `#agent=${encodeURIComponent(name)}`;
  if (page.path === "/agents/") {
    if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
    else location.hash = hash;
  } else {
    location.assign(`/agents/${hash}`);
  }
}

/** pageOf is the page that shows a neuron's subject, if one does. */
function pageOf(n: GNode): { href: string; name: string } | null {
  switch (n.kind) {
    case "symbol":
      return { href: "/markets/", name: "Markets" };
    case "model":
    case "ensemble":
    case "batcher":
    case "runtime":
      return { href: "/models/", name: "Models" };
    case "risk":
      return { href: "/agents/#risk", name: "Agents (risk gate)" };
    case "venue":
      return { href: "/agents/#orders", name: "Agents (orders)" };
    case "stream":
      return n.label === "ORD" ? { href: "/agents/#orders", name: "Agents (orders)" } : null;
  }
  return null;
}
document.getElementById("fit")!.addEventListener("click", () => view.fit());

function renderDetail(): void {
  if (!detailNode) return;
  const top = live.topics.get("graph") as Topology | undefined;
  const n = top?.nodes.find((x) => x.id === detailNode) ?? view.graph().nodes.find((x) => x.id === detailNode);
  if (!n) return;
  const edges = (top ?? view.graph()).edges;
  const inE = edges.filter((e) => e.to === n.id);
  const outE = edges.filter((e) => e.from === n.id);
  const state = stateOf(n.topic, renderDetail);
  const pg = pageOf(n);
  detail.innerHTML = `
    <div class="panel-head"><h2>${esc(n.label)}</h2><button class="btn" id="close-detail" type="button" aria-label="close">✕</button></div>
    <p class="dim">${esc(n.id)}</p>
    ${pg ? `<p><a class="page-link" href="${pg.href}">open ${esc(pg.name)} →</a></p>` : ""}
    ${dl(nodeRows(n))}
    <h3>Inputs (${inE.length})</h3>${dl(inE.map((e) => [`← ${e.from}`, `${num(e.rate, 1)}/s`]))}
    <h3>Outputs (${outE.length})</h3>${dl(outE.map((e) => [`→ ${e.to}`, `${num(e.rate, 1)}/s`]))}
    ${state ? `<h3>Live state · ${esc(n.topic)}</h3>${dl(summary(state, 40))}` : ""}`;
  document.getElementById("close-detail")!.addEventListener("click", () => showDetail(false));
}

// The page's actors are emphasised in the neural view; a panel or row that shows an actor
// (data-actor: its neurons' IDs, space-separated) highlights them while the pointer is on it,
// with a line from it to each of them (redrawn every frame: the page scrolls, the view pans).
view.emphasise(page.actors ?? null);
const content = document.getElementById("content")!;
const wire = document.body.appendChild(document.createElementNS("http://www.w3.org/2000/svg", "svg"));
wire.setAttribute("class", "wire");
wire.setAttribute("aria-hidden", "true");
let wired: HTMLElement | null = null; // the panel or row under the pointer that shows actors

function drawWire(): void {
  if (!wired?.isConnected) {
    // none, or a row redrawn under the pointer: the line waits for the pointer to move
    wire.innerHTML = "";
    wired = null;
    return;
  }
  const r = wired.getBoundingClientRect();
  const net = view.graph();
  wire.innerHTML = net.drawnNodes
    .filter((n) => n.lit)
    .map((n) => {
      // from the point of the panel nearest the neuron
      const x = Math.max(r.left, Math.min(n.x, r.right));
      const y = Math.max(r.top, Math.min(n.y, r.bottom));
      return `<line x1="${x.toFixed(1)}" y1="${y.toFixed(1)}" x2="${n.x.toFixed(1)}" y2="${n.y.toFixed(1)}" data-to="${esc(n.id)}"/>`;
    })
    .join("");
  requestAnimationFrame(drawWire);
}

content.addEventListener("pointerover", (e) => {
  const el = (e.target as Element).closest<HTMLElement>("[data-actor]");
  view.highlight(el?.dataset.actor ? el.dataset.actor.split(" ") : []);
  if (!wired && el) requestAnimationFrame(drawWire);
  wired = el;
});
content.addEventListener("pointerleave", () => {
  view.highlight([]);
  wired = null;
});

live.on("graph", (_t, d) => {
  view.set(d as Topology);
  if (!detail.hidden) renderDetail();
});

// subtle 3D tilt of the panels following the pointer (off with reduced motion)
if (!reducedMotion) {
  let pending = false;
  let px = 0,
    py = 0;
  window.addEventListener("pointermove", (e) => {
    px = e.clientX / window.innerWidth - 0.5;
    py = e.clientY / window.innerHeight - 0.5;
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      document.body.style.setProperty("--tx", px.toFixed(3));
      document.body.style.setProperty("--ty", py.toFixed(3));
    });
  });
} else {
  document.body.classList.add("reduced-motion");
}

window.__synapse = {
  graph: () => view.graph(),
  frames: () => view.frameCount(),
  ws: () => live.state,
  wsURL: () => live.url,
  opened: () => live.opened,
  cut: () => live.cut(),
  reducedMotion: () => reducedMotion,
  /** setGraph shows a given topology and stops live graph updates (for the performance test). */
  setGraph: (top: Topology) => {
    view.freeze(true);
    view.set(top, true);
    view.fit();
  },
};

// the page once who this token is is known: a control its role may not use is drawn disabled
void loadAccess().then((id) => {
  const who = document.getElementById("who")!;
  who.hidden = !id;
  if (id) who.textContent = `${id.name} · ${id.role}`;
  renderPage(page, content, live);
  live.start();
});
