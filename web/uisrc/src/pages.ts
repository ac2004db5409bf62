// The pages: each renders into the content area beside the neural view and keeps itself
// current from the live topics. Tiers that are not built yet say so; no invented numbers.
import { createChart, CandlestickSeries, HistogramSeries, LineSeries, IChartApi, ISeriesApi, UTCTimestamp } from "lightweight-charts";
import { Live, query, AuthError } from "./live";
import { Topology } from "./neural";
import { esc, dl, trim, num, int, time, h } from "./format";
import { agentsPage } from "./agents";
import { portfolioPage } from "./portfolio";
import { trainingPage } from "./training";

export interface Page {
  path: string;
  name: string;
  wide: boolean; // the neural view full-width above the content
}

export const PAGES: Page[] = [
  { path: "/", name: "Dashboard", wide: true },
  { path: "/markets/", name: "Markets", wide: true },
  { path: "/datasets/", name: "Datasets", wide: false },
  { path: "/training/", name: "Training", wide: false },
  { path: "/models/", name: "Models", wide: false },
  { path: "/agents/", name: "Agents", wide: false },
  { path: "/portfolio/", name: "Portfolio", wide: false },
  { path: "/health/", name: "System Health", wide: true },
];

export function renderPage(p: Page, root: HTMLElement, live: Live): void {
  switch (p.path) {
    case "/":
      return dashboard(root, live);
    case "/markets/":
      return markets(root, live);
    case "/datasets/":
      return datasets(root, live);
    case "/training/":
      return trainingPage(root, live);
    case "/models/":
      return models(root, live);
    case "/agents/":
      return agentsPage(root, live);
    case "/portfolio/":
      return portfolioPage(root, live);
    case "/health/":
      return health(root, live);
  }
}

function panel(root: HTMLElement, title: string, cls = ""): HTMLElement {
  const s = h("section", `glass tilt card ${cls}`);
  s.innerHTML = `<div class="panel-head"><h2>${esc(title)}</h2></div>`;
  const body = h("div", "body");
  s.appendChild(body);
  root.appendChild(s);
  return body;
}

function notRunning(root: HTMLElement, tier: string, what: string): void {
  const b = panel(root, tier, "not-running");
  b.innerHTML = `<p class="tier-off" data-tier-off>⊘ This tier is not running yet.</p><p class="dim">${esc(what)} Until then nothing is shown here: no placeholder figures.</p>`;
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

interface SymbolCard {
  price: HTMLElement;
  info: HTMLElement;
  feats: HTMLElement;
  models: HTMLElement;
  chart: IChartApi;
  candles: ISeriesApi<"Candlestick">;
  volume: ISeriesApi<"Histogram">;
  seed: ISeriesApi<"Line">;
  seeded: boolean;
  lastTime: number;
  lastPrice: string;
}

function markets(root: HTMLElement, live: Live): void {
  const grid = h("div", "markets");
  root.appendChild(grid);
  const cards = new Map<string, SymbolCard>();
  const empty = h("p", "dim", "Waiting for market data…");
  grid.appendChild(empty);

  function card(topic: string, s: any): SymbolCard {
    let c = cards.get(topic);
    if (c) return c;
    empty.remove();
    const sec = h("section", "glass card market");
    sec.dataset.topic = topic;
    sec.innerHTML = `<div class="panel-head"><h2>${esc(s.symbol)} <span class="dim">${esc(s.venue)}</span></h2><span class="price" data-live>—</span></div>
      <div class="market-row"><div class="chart"></div><div class="side"><div class="info"></div><h3>Indicators (last closed 1m)</h3><div class="feats"></div><h3>Models</h3><div class="models dim">no model has scored this symbol yet</div></div></div>`;
    grid.appendChild(sec);
    const chart = createChart(sec.querySelector(".chart") as HTMLElement, {
      autoSize: true,
      layout: { background: { color: "transparent" }, textColor: "#8a97bd", attributionLogo: false },
      grid: { vertLines: { color: "rgba(120,140,200,0.08)" }, horzLines: { color: "rgba(120,140,200,0.08)" } },
      timeScale: { timeVisible: true, secondsVisible: false, borderColor: "#24304f" },
      rightPriceScale: { borderColor: "#24304f" },
    });
    const seed = chart.addSeries(LineSeries, { color: "rgba(154,182,255,0.6)", lineWidth: 1, title: "closes (seed)", priceLineVisible: false });
    const candles = chart.addSeries(CandlestickSeries, { upColor: "#3ddc97", downColor: "#ff6b81", wickUpColor: "#3ddc97", wickDownColor: "#ff6b81", borderVisible: false });
    const volume = chart.addSeries(HistogramSeries, { priceScaleId: "vol", priceFormat: { type: "volume" }, color: "rgba(122,162,255,0.35)" });
    chart.priceScale("vol").applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    c = {
      price: sec.querySelector(".price")!,
      info: sec.querySelector(".info")!,
      feats: sec.querySelector(".feats")!,
      models: sec.querySelector(".models")!,
      chart,
      candles,
      volume,
      seed,
      seeded: false,
      lastTime: 0,
      lastPrice: "",
    };
    cards.set(topic, c);
    return c;
  }

  live.on("symbol/", (topic, s) => {
    const c = card(topic, s);
    const k = s.candle;
    // seed: the last closes (one a minute, the newest being the current candle's)
    if (!c.seeded && k && Array.isArray(s.closes) && s.closes.length > 0) {
      const n = s.closes.length;
      c.seed.setData(s.closes.map((v: string, i: number) => ({ time: (k.open_time / 1000 - (n - 1 - i) * 60) as UTCTimestamp, value: Number(v) })));
      c.seeded = true;
      c.chart.timeScale().fitContent();
    }
    if (k) {
      const t = Math.floor(k.open_time / 1000);
      if (t >= c.lastTime) {
        c.candles.update({ time: t as UTCTimestamp, open: Number(k.open), high: Number(k.high), low: Number(k.low), close: Number(k.close) });
        c.volume.update({ time: t as UTCTimestamp, value: Number(k.volume), color: Number(k.close) >= Number(k.open) ? "rgba(61,220,151,0.35)" : "rgba(255,107,129,0.35)" });
        // keep the whole series in view while it is short; later the user's zoom stays
        if (t > c.lastTime && c.candles.data().length < 200) c.chart.timeScale().fitContent();
        c.lastTime = t;
      }
    }
    const p = trim(s.last_price);
    const dir = c.lastPrice === "" || p === c.lastPrice ? "" : Number(p) > Number(c.lastPrice) ? "up" : "down";
    c.price.className = `price ${dir}`;
    c.price.textContent = p + (dir === "up" ? " ▲" : dir === "down" ? " ▼" : "");
    c.lastPrice = p;
    c.info.innerHTML = dl([
      ["bid", trim(s.bid)],
      ["ask", trim(s.ask)],
      ["book", s.book_synced ? `✓ ${int(s.book_levels)} levels` : "✗ not synced"],
      ["events", int(s.events)],
      ["event time", time(s.event_time)],
    ]);
    const vals = s.features?.values ?? {};
    const rows: [string, string][] = Object.keys(vals)
      .sort()
      .map((k2) => [k2, num(vals[k2], 4)]);
    c.feats.innerHTML = rows.length ? dl(rows) : `<span class="dim">warming up</span>`;
    renderModels(c, s);
  });

  function renderModels(c: SymbolCard, s: any): void {
    const key = `${s.venue}/${s.symbol}`;
    const rows: [string, string][] = [];
    for (const [t, m] of live.topics) {
      if (!t.startsWith("model/")) continue;
      const n = m.per_symbol?.[key];
      if (n) rows.push([m.key ?? t.slice(6), `${int(n)} features · ${int(m.signals)} signals total`]);
    }
    if (rows.length) {
      c.models.className = "models";
      c.models.innerHTML = dl(rows);
    }
  }
}

function datasets(root: HTMLElement, live: Live): void {
  const b = panel(root, "Recorded market data (live)");
  b.innerHTML = `<p class="dim">Symbols the engine is receiving now, with their event counts.</p><div id="ds"></div>`;
  live.on("symbol/", () => {
    const rows: [string, string][] = [];
    for (const [t, s] of live.topics) if (t.startsWith("symbol/")) rows.push([`${s.venue} ${s.symbol}`, `${int(s.events)} events · ${int(s.malformed)} malformed · ${int(s.duplicates)} dup`]);
    const el = document.getElementById("ds")!;
    el.innerHTML = dl(rows);
    el.querySelectorAll("dd").forEach((d) => d.setAttribute("data-live", ""));
  });
  notRunning(root, "Datasets", "Dataset builds (feature tables, labels, splits) and their details will appear here once the dataset tier runs.");
}

function queryFailed(id: string): (e: unknown) => void {
  return (e) => {
    if (e instanceof AuthError) window.dispatchEvent(new Event("synapse-auth"));
    const el = document.getElementById(id);
    if (el) el.textContent = `could not load: ${e instanceof Error ? e.message : e}`;
  };
}

function models(root: HTMLElement, live: Live): void {
  const v = panel(root, "Versions and batcher");
  v.innerHTML = `<div id="mv" class="dim">loading…</div>`;
  const load = () =>
    query("models")
      .then((m) => {
        const rt = `<p>ONNX Runtime <b>${esc(m.runtime ?? "—")}</b></p>`;
        const versions = (list: any[] | null, kind: string) => (list ?? []).map((x: any) => `<tr><td>${esc(x.model)}</td><td>${kind}</td><td class="num">v${esc(x.version)}</td><td>${esc(x.source ?? "")}</td></tr>`).join("");
        const bt = (m.batcher?.Models ?? [])
          .map((x: any) => `<tr><td>${esc(x.Key)}</td><td class="num">${int(x.Requests)}</td><td class="num">${int(x.Served)}</td><td class="num">${int(x.Batches)}</td><td class="num">${x.Batches ? num(x.Rows / x.Batches, 1) : "—"}</td><td class="num">${x.Batches ? num(x.RunTime / x.Batches / 1e3, 0) + " µs" : "—"}</td><td>${esc(x.Provider ?? "—")}</td><td class="num">${int(x.DroppedDeadline + x.DroppedQueueFull)}</td><td class="num">${int(x.Failed)}</td><td class="num">${int(x.Queued)}</td></tr>`)
          .join("");
        const el = document.getElementById("mv")!;
        el.className = "";
        el.innerHTML = `${rt}<table><thead><tr><th>model</th><th>role</th><th>version</th><th>source</th></tr></thead><tbody>${versions(m.live, "live")}${versions(m.shadow, "shadow")}</tbody></table>
          <h3>Batcher</h3><table><thead><tr><th>model</th><th>requests</th><th>served</th><th>batches</th><th>rows/batch</th><th>mean run</th><th>runs on</th><th>dropped</th><th>failed</th><th>queued</th></tr></thead><tbody data-live>${bt}</tbody></table>`;
      })
      .catch(queryFailed("mv"));
  load();
  setInterval(load, 2000);
  const s = panel(root, "Live model state");
  s.innerHTML = `<table><thead><tr><th>model</th><th>state</th><th>requests</th><th>signals</th><th>errors</th><th>accuracy</th><th>latency</th></tr></thead><tbody id="ms"></tbody></table>`;
  live.on("model/", () => {
    const rows: string[] = [];
    for (const [t, m] of [...live.topics].sort()) {
      if (!t.startsWith("model/")) continue;
      rows.push(`<tr><td>${esc(m.key ?? t.slice(6))}</td><td>${m.active ? "▶ active" : "◦ " + (m.shadow ? "shadow" : "idle")}</td><td class="num" data-live>${int(m.requests)}</td><td class="num">${int(m.signals)}</td><td class="num">${int(m.errors)}</td><td class="num">${m.scored ? num(m.accuracy * 100, 1) + "%" : "— (none scored)"}</td><td class="num">${m.latency_us ? int(m.latency_us) + " µs" : "—"}</td></tr>`);
    }
    document.getElementById("ms")!.innerHTML = rows.join("");
  });
}

function health(root: HTMLElement, live: Live): void {
  const st = panel(root, "Streams (engine)");
  st.innerHTML = `<div class="figs">${figure("MD published", "h-pub")}${figure("duplicates dropped", "h-dup")}${figure("publish failures", "h-fail")}${figure("routed", "h-routed")}${figure("bad on the log", "h-bad")}${figure("last seq", "h-seq")}</div>`;
  live.on("engine", (_t, e) => {
    set("h-pub", int(e.log?.published));
    set("h-dup", int(e.log?.duplicates));
    set("h-fail", int(e.log?.failed));
    set("h-routed", int(e.graph?.routed));
    set("h-bad", int(e.graph?.bad_on_the_log));
    set("h-seq", int(e.graph?.last_seq));
  });
  const a = panel(root, "Actors");
  a.innerHTML = `<table><thead><tr><th>actor</th><th>kind</th><th>count</th><th>rate/s</th><th>mailbox load</th><th>restarts</th><th>status</th></tr></thead><tbody id="actors"></tbody></table>`;
  live.on("graph", (_t, g: Topology) => {
    const rows = g.nodes.map((n) => {
      const st = n.topic ? live.topics.get(n.topic) : undefined;
      const restarts = st && typeof st.restarts === "number" ? (st.restarts > 0 ? `⚠ ${st.restarts}` : "0") : "—";
      const pct = Math.round(n.load * 100);
      return `<tr><td>${esc(n.label)}</td><td>${esc(n.kind)}</td><td class="num" data-live>${int(n.count)}</td><td class="num">${num(n.rate, 1)}</td><td><span class="bar"><span style="width:${pct}%"></span></span> <span class="num">${pct}%${pct > 80 ? " ⚠" : ""}</span></td><td class="num">${restarts}</td><td>${esc(n.status ?? "")}</td></tr>`;
    });
    document.getElementById("actors")!.innerHTML = rows.join("");
  });
}
