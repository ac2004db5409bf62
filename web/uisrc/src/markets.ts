// The Markets page: per symbol, a candlestick chart with volume, opened on the history the
// engine holds (the candles query: the symbol actor's newest 1m candles with their
// indicators and the ensemble's signals, read from the log) and then kept live from the
// symbol's topic; the indicators drawn on it (SMA 20, EMA 20, Bollinger bands over the
// candles; RSI 14 in a pane below); the ensemble's signals and the agents' fills (the fills
// query) as markers, from before an engine restart as well as since. Up and down read without colour: a rising candle is
// hollow, a falling one filled, and the legend and the crosshair readout say ▲ or ▼.
import {
  createChart,
  createSeriesMarkers,
  CandlestickSeries,
  HistogramSeries,
  LineSeries,
  LineStyle,
  IChartApi,
  ISeriesApi,
  ISeriesMarkersPluginApi,
  SeriesMarker,
  Time,
  UTCTimestamp,
  MouseEventParams,
} from "lightweight-charts";
import { Live, query } from "./live";
import { CHART_OPTIONS } from "./charts";
import { esc, dl, trim, num, int, time, h } from "./format";

const UP = "#3ddc97";
const DOWN = "#ff6b81";

/** CandleRow is one candle as the candles query and the symbol topic give it. */
interface CandleRow {
  open_time: number; // epoch ms
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
  values?: Record<string, number>;
  signal?: Signal;
}

/** Signal is the ensemble's signal on a candle. */
interface Signal {
  probability: number;
  direction: number;
  confidence: number;
}

/** OVERLAYS are the indicators drawn over the candles, by feature column; RSI has a pane. */
const OVERLAYS: { key: string; name: string; color: string; style: LineStyle; dash: string }[] = [
  { key: "sma_20", name: "SMA 20", color: "#ffd166", style: LineStyle.Solid, dash: "━━" },
  { key: "ema_20", name: "EMA 20", color: "#d6a2ff", style: LineStyle.Dashed, dash: "╍╍" },
  { key: "bb_upper_20_2", name: "Bollinger upper (20, 2σ)", color: "#7aa2ff", style: LineStyle.Dotted, dash: "┈┈" },
  { key: "bb_lower_20_2", name: "Bollinger lower (20, 2σ)", color: "#7aa2ff", style: LineStyle.Dotted, dash: "┈┈" },
];
const RSI = { key: "rsi_14", name: "RSI 14", color: "#ff8fab" };

interface Fill {
  id: string; // client order ID + trade ID
  agent: string;
  side: string; // BUY or SELL
  qty: string;
  price: string;
  time: number; // epoch ms
}

interface Card {
  venue: string;
  symbol: string;
  price: HTMLElement;
  info: HTMLElement;
  feats: HTMLElement;
  models: HTMLElement;
  readout: HTMLElement;
  chart: IChartApi;
  candles: ISeriesApi<"Candlestick">;
  volume: ISeriesApi<"Histogram">;
  lines: Map<string, ISeriesApi<"Line">>;
  markers: ISeriesMarkersPluginApi<Time>;
  rows: Map<UTCTimestamp, CandleRow>; // by open time in seconds: what is drawn
  loaded: boolean; // the history arrived (live candles wait for it)
  historyRows: number; // how many candles the candles query gave
  historySignals: number; // how many of them came with the ensemble's signal (read from the log)
  loading: boolean;
  fills: Map<string, Fill>;
  signals: Map<UTCTimestamp, Signal>; // the ensemble's live signals, by candle
  lastPrice: string;
  drawn: { fills: number; signals: number };
}

const secs = (ms: number) => Math.floor(ms / 1000) as UTCTimestamp;
const minute = (ms: number) => (Math.floor(ms / 60000) * 60) as UTCTimestamp;

export function marketsPage(root: HTMLElement, live: Live): void {
  const grid = h("div", "markets");
  root.appendChild(grid);
  const cards = new Map<string, Card>();
  const empty = h("p", "dim", "Waiting for market data…");
  grid.appendChild(empty);

  function card(topic: string, s: any): Card {
    let c = cards.get(topic);
    if (c) return c;
    empty.remove();
    const sec = h("section", "glass card market");
    sec.dataset.topic = topic;
    sec.dataset.actor = topic; // the symbol actor's neuron has its topic's name
    sec.innerHTML = `<div class="panel-head"><h2>${esc(s.symbol)} <span class="dim">${esc(s.venue)}</span></h2><span class="price" data-live>—</span></div>
      <div class="market-row"><div class="market-main"><div class="market-legend legend" data-legend></div><div class="chart candles-chart"></div><div class="market-readout dim" data-readout>Hover the chart for a candle's values.</div></div>
      <div class="side"><div class="info"></div><h3>Indicators (last closed 1m)</h3><div class="feats"></div><h3>Models</h3><div class="models dim">no model has scored this symbol yet</div></div></div>`;
    grid.appendChild(sec);
    const chart = createChart(sec.querySelector(".chart") as HTMLElement, CHART_OPTIONS);
    // Rising candles hollow, falling filled: the shape tells them apart, not only the colour.
    const candles = chart.addSeries(CandlestickSeries, {
      upColor: "rgba(0,0,0,0)",
      downColor: DOWN,
      borderUpColor: UP,
      borderDownColor: DOWN,
      wickUpColor: UP,
      wickDownColor: DOWN,
      borderVisible: true,
      title: "1m",
    });
    const volume = chart.addSeries(HistogramSeries, { priceScaleId: "vol", priceFormat: { type: "volume" }, lastValueVisible: false, priceLineVisible: false });
    chart.priceScale("vol").applyOptions({ scaleMargins: { top: 0.82, bottom: 0 } });
    const lines = new Map<string, ISeriesApi<"Line">>();
    for (const o of OVERLAYS) {
      lines.set(o.key, chart.addSeries(LineSeries, { color: o.color, lineStyle: o.style, lineWidth: 1, priceLineVisible: false, lastValueVisible: false, crosshairMarkerVisible: false }));
    }
    const rsi = chart.addSeries(LineSeries, { color: RSI.color, lineWidth: 1, priceLineVisible: false, title: "RSI 14", priceFormat: { type: "price", precision: 1, minMove: 0.1 } }, 1);
    rsi.createPriceLine({ price: 70, color: "rgba(148,160,196,0.5)", lineWidth: 1, lineStyle: LineStyle.Dashed, axisLabelVisible: true, title: "70" });
    rsi.createPriceLine({ price: 30, color: "rgba(148,160,196,0.5)", lineWidth: 1, lineStyle: LineStyle.Dashed, axisLabelVisible: true, title: "30" });
    lines.set(RSI.key, rsi);
    chart.panes()[1]?.setHeight(90);
    const legend = sec.querySelector("[data-legend]") as HTMLElement;
    legend.innerHTML = [
      `<span data-series="candles">▲ hollow candle: close ≥ open · ▼ filled: close &lt; open</span>`,
      ...OVERLAYS.filter((o) => o.key !== "bb_lower_20_2").map(
        (o) => `<span data-series="${o.key}"><b style="color:${o.color}">${o.dash}</b> ${esc(o.key === "bb_upper_20_2" ? "Bollinger bands (20, 2σ)" : o.name)}</span>`,
      ),
      `<span data-series="${RSI.key}"><b style="color:${RSI.color}">━━</b> RSI 14 (lower pane, 30 / 70 dashed)</span>`,
      `<span data-series="volume">▮ volume</span>`,
      `<span data-series="fills"><b class="side-BUY">▲ BUY</b> / <b class="side-SELL">▼ SELL</b> agent fills (hover: qty @ price)</span>`,
      `<span data-series="signals">● ↑/↓ the ensemble's direction call flips (probability crosses 0.5)</span>`,
    ].join("");
    c = {
      venue: s.venue,
      symbol: s.symbol,
      price: sec.querySelector(".price")!,
      info: sec.querySelector(".info")!,
      feats: sec.querySelector(".feats")!,
      models: sec.querySelector(".models")!,
      readout: sec.querySelector("[data-readout]")!,
      chart,
      candles,
      volume,
      lines,
      markers: createSeriesMarkers(candles, []),
      rows: new Map(),
      loaded: false,
      historyRows: 0,
      historySignals: 0,
      loading: false,
      fills: new Map(),
      signals: new Map(),
      lastPrice: "",
      drawn: { fills: 0, signals: 0 },
    };
    const card = c;
    chart.subscribeCrosshairMove((p) => readout(card, p));
    cards.set(topic, c);
    loadHistory(c);
    return c;
  }

  /** loadHistory draws the candles query's history and the symbol's fills, then live updates. */
  async function loadHistory(c: Card): Promise<void> {
    if (c.loading) return; // the load in flight will have them
    c.loading = true;
    try {
      const sym = `venue=${encodeURIComponent(c.venue)}&symbol=${encodeURIComponent(c.symbol)}`;
      const rows: CandleRow[] = await query("candles", `${sym}&interval=1m&limit=500`);
      c.historyRows = rows.length;
      c.historySignals = rows.filter((r) => r.signal).length;
      for (const r of rows) c.rows.set(secs(r.open_time), r);
      // the fills from the first candle drawn on, page by page
      const since = rows.length ? rows[0].open_time : 0;
      for (let offset = 0; ; ) {
        const page = await query("fills", `${sym}&since=${since}&limit=1000&offset=${offset}`);
        for (const f of page.items ?? []) addFill(c, { id: `${f.client_order_id}/${f.trade_id}`, agent: f.agent, side: f.side, qty: f.qty, price: f.price, time: f.time });
        offset += (page.items ?? []).length;
        if (!(page.items ?? []).length || offset >= page.total) break;
      }
      drawAll(c);
      if (!c.loaded) c.chart.timeScale().fitContent(); // later loads keep the user's zoom
      c.loaded = true;
    } catch (e) {
      c.readout.textContent = `⚠ history not loaded: ${(e as Error).message}`;
    } finally {
      c.loading = false;
    }
  }

  function addFill(c: Card, f: Fill): void {
    c.fills.set(f.id, f);
  }

  function drawAll(c: Card): void {
    const times = [...c.rows.keys()].sort((a, b) => a - b);
    const rows = times.map((t) => c.rows.get(t)!);
    c.candles.setData(rows.map((r, i) => ({ time: times[i], open: Number(r.open), high: Number(r.high), low: Number(r.low), close: Number(r.close) })));
    c.volume.setData(rows.map((r, i) => ({ time: times[i], value: Number(r.volume), color: up(r) ? "rgba(61,220,151,0.35)" : "rgba(255,107,129,0.35)" })));
    for (const [key, series] of c.lines) {
      series.setData(rows.flatMap((r, i) => (r.values?.[key] !== undefined ? [{ time: times[i], value: r.values[key] }] : [])));
    }
    drawMarkers(c, times);
  }

  function drawMarkers(c: Card, times: UTCTimestamp[] = [...c.rows.keys()].sort((a, b) => a - b)): void {
    const markers: SeriesMarker<Time>[] = [];
    const first = times[0] ?? 0;
    const last = times[times.length - 1] ?? 0;
    let signals = 0;
    let prev: number | undefined;
    for (const t of times) {
      const sig = c.rows.get(t)!.signal ?? c.signals.get(t);
      if (!sig) continue;
      const side = sig.direction >= 0.5;
      if (prev !== undefined && side !== prev >= 0.5) {
        markers.push({ time: t, position: "inBar", shape: "circle", color: side ? UP : DOWN, text: `${side ? "↑" : "↓"} ens ${num(sig.direction, 2)}`, size: 0.6 });
        signals++;
      }
      prev = sig.direction;
    }
    let fills = 0;
    for (const f of c.fills.values()) {
      const t = minute(f.time);
      if (t < first || t > last) continue; // outside the candles drawn
      const buy = f.side === "BUY";
      markers.push({
        time: t,
        position: buy ? "belowBar" : "aboveBar",
        shape: buy ? "arrowUp" : "arrowDown",
        color: buy ? UP : DOWN,
        text: `${buy ? "BUY" : "SELL"} ${f.agent}`, // qty @ price in the readout: a chart of fills stays legible
      });
      fills++;
    }
    markers.sort((a, b) => (a.time as number) - (b.time as number));
    c.markers.setMarkers(markers);
    c.drawn = { fills, signals };
  }

  /** markersSoon draws c's markers at the next frame: once for a frame's many events. */
  const dirty = new Set<Card>();
  function markersSoon(c: Card): void {
    if (dirty.size === 0) {
      requestAnimationFrame(() => {
        for (const d of dirty) drawMarkers(d);
        dirty.clear();
      });
    }
    dirty.add(c);
  }

  function up(r: CandleRow): boolean {
    return Number(r.close) >= Number(r.open);
  }

  function readout(c: Card, p: MouseEventParams<Time>): void {
    const r = p.time !== undefined ? c.rows.get(p.time as UTCTimestamp) : undefined;
    if (!r) return;
    const dir = up(r) ? "▲ up" : "▼ down";
    const sig = r.signal ?? c.signals.get(p.time as UTCTimestamp);
    const v = r.values ?? {};
    const parts = [
      `${time(r.open_time)} ${dir}`,
      `O ${trim(r.open)} H ${trim(r.high)} L ${trim(r.low)} C ${trim(r.close)} V ${trim(r.volume)}`,
      ...OVERLAYS.map((o) => (v[o.key] !== undefined ? `${o.name.replace(" (20, 2σ)", "")} ${num(v[o.key], 2)}` : "")),
      v[RSI.key] !== undefined ? `RSI ${num(v[RSI.key], 1)}` : "",
      sig ? `ensemble p ${num(sig.probability, 3)} · direction ${num(sig.direction, 3)}` : "",
      ...[...c.fills.values()]
        .filter((f) => minute(f.time) === p.time)
        .map((f) => `${f.side === "BUY" ? "▲ BUY" : "▼ SELL"} ${f.agent} ${trim(f.qty)} @ ${trim(f.price)}`),
    ].filter(Boolean);
    c.readout.textContent = parts.join(" · ");
  }

  live.on("symbol/", (topic, s) => {
    const c = card(topic, s);
    const k = s.candle;
    if (k && c.loaded) {
      const t = secs(k.open_time);
      const times = [...c.rows.keys()];
      const last = times.length ? Math.max(...times) : 0;
      if (t > last) {
        const row: CandleRow = { open_time: k.open_time, open: k.open, high: k.high, low: k.low, close: k.close, volume: k.volume, values: s.features?.values };
        c.rows.set(t, row);
        c.candles.update({ time: t, open: Number(row.open), high: Number(row.high), low: Number(row.low), close: Number(row.close) });
        c.volume.update({ time: t, value: Number(row.volume), color: up(row) ? "rgba(61,220,151,0.35)" : "rgba(255,107,129,0.35)" });
        for (const [key, series] of c.lines) if (row.values?.[key] !== undefined) series.update({ time: t, value: row.values[key] });
        markersSoon(c);
        // candles closed faster than the topic shows them (a fast replay): fetch those missed
        if (last && t > last + 60) loadHistory(c);
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
    renderModels(c);
  });

  // The ensemble's signals, each on its candle, as they come (an event topic: none is missed).
  live.on("signals", (_t, sig) => {
    const c = cards.get(`symbol/${sig.venue}/${sig.symbol}`);
    if (!c) return;
    // kept by candle: the symbol's topic may show the candle after its signal
    c.signals.set(secs(sig.feature_time), { probability: sig.prediction?.probability, direction: sig.prediction?.direction, confidence: sig.confidence });
    if (c.loaded) markersSoon(c);
  });

  // The agents' fills as they come (orders is an event topic: every fill arrives).
  live.on("orders", (_t, o) => {
    if (o.type !== "fill") return;
    const c = cards.get(`symbol/${o.venue}/${o.symbol}`);
    if (!c) return; // its history, still to come, will have it
    addFill(c, { id: `${o.client_order_id}/${o.trade_id}`, agent: o.agent, side: o.side, qty: o.fill_qty, price: o.fill_price, time: o.time });
    if (c.loaded) markersSoon(c);
  });

  function renderModels(c: Card): void {
    const key = `${c.venue}/${c.symbol}`;
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

  window.__markets = {
    cards: () =>
      Object.fromEntries(
        [...cards].map(([topic, c]) => [
          topic,
          {
            venue: c.venue,
            symbol: c.symbol,
            loaded: c.loaded,
            historyRows: c.historyRows,
            historySignals: c.historySignals,
            candles: c.candles.data().length,
            firstTime: (c.candles.data()[0]?.time as number) ?? 0,
            lastTime: (c.candles.data()[c.candles.data().length - 1]?.time as number) ?? 0,
            series: Object.fromEntries([...c.lines].map(([k, s]) => [k, s.data().length])),
            legend: c.price.closest("section")!.querySelector("[data-legend]")!.textContent,
            fillMarkers: c.drawn.fills,
            signalMarkers: c.drawn.signals,
          },
        ]),
      ),
    drawn: (topic: string) => {
      const c = cards.get(topic);
      if (!c) return null;
      return {
        candles: c.candles.data(),
        lines: Object.fromEntries([...c.lines].map(([k, s]) => [k, s.data()])),
      };
    },
  };
}

declare global {
  interface Window {
    /** __markets lets the browser tests see what the Markets page drew. */
    __markets: { cards: () => Record<string, any>; drawn: (topic: string) => { candles: readonly unknown[]; lines: Record<string, readonly unknown[]> } | null };
  }
}
