// The charts: the equity chart of an agent, shared by the Agents page and the backtest
// report; the Portfolio page's equity curves of every agent on one chart and its Monte Carlo
// fan. Equity arrives as decimal strings; only the drawing turns it into numbers.
import {
  createChart,
  AreaSeries,
  LineSeries,
  LineStyle,
  IChartApi,
  ISeriesApi,
  ISeriesPrimitive,
  IPrimitivePaneView,
  IPrimitivePaneRenderer,
  SeriesAttachedParameter,
  IPriceLine,
  Time,
  UTCTimestamp,
  ChartOptions,
  DeepPartial,
} from "lightweight-charts";

export interface CurvePoint {
  time: number; // epoch ms
  equity: string;
}

export interface EquityChart {
  chart: IChartApi;
  series: ISeriesApi<"Area">;
  /** set draws the curve, plus `last` (the current equity) when it is newer than the curve.
   * While the curve is unchanged, a newer `last` is added to what is drawn instead of
   * drawing everything again. */
  set(curve: CurvePoint[] | null | undefined, last?: CurvePoint): void;
  /** points is how many points are drawn. */
  points(): number;
}

/** CHART_OPTIONS: the look every chart here shares (the wheel scrolls the page, not the chart). */
export const CHART_OPTIONS: DeepPartial<ChartOptions> = {
  autoSize: true,
  layout: { background: { color: "transparent" }, textColor: "#8a97bd", attributionLogo: false },
  grid: { vertLines: { color: "rgba(120,140,200,0.08)" }, horzLines: { color: "rgba(120,140,200,0.08)" } },
  timeScale: { timeVisible: true, secondsVisible: false, borderColor: "#24304f" },
  rightPriceScale: { borderColor: "#24304f" },
  handleScroll: { mouseWheel: false, pressedMouseMove: true },
  handleScale: { mouseWheel: false, pinch: true },
};

export function equityChart(el: HTMLElement, capital?: string): EquityChart {
  const chart = createChart(el, CHART_OPTIONS);
  const series = chart.addSeries(AreaSeries, {
    lineColor: "#7aa2ff",
    topColor: "rgba(122,162,255,0.35)",
    bottomColor: "rgba(122,162,255,0.02)",
    lineWidth: 2,
    priceFormat: { type: "price", precision: 2, minMove: 0.01 },
    title: "equity",
  });
  if (capital !== undefined && Number.isFinite(Number(capital))) {
    series.createPriceLine({ price: Number(capital), color: "rgba(148,160,196,0.6)", lineWidth: 1, lineStyle: 2, axisLabelVisible: true, title: "capital" });
  }
  let curveKey = ""; // the curve drawn by the last setData
  let lastTime = 0; // the newest point drawn, in seconds
  let n = 0;
  const point = (p: CurvePoint) => ({ time: Math.floor(p.time / 1000) as UTCTimestamp, value: Number(p.equity) });
  return {
    chart,
    series,
    set(curve, last) {
      const pts = curve ?? [];
      const tail = pts.length ? pts[pts.length - 1] : null;
      const k = `${pts.length}:${pts.length ? pts[0].time : 0}:${tail?.time ?? 0}:${tail?.equity ?? ""}`;
      if (k !== curveKey) {
        // the curve changed: draw it all, ascending, one point per second at most
        const data: { time: UTCTimestamp; value: number }[] = [];
        for (const p of last && (!tail || last.time > tail.time) ? [...pts, last] : pts) {
          const d = point(p);
          if (!Number.isFinite(d.value)) continue;
          if (data.length && d.time <= data[data.length - 1].time) {
            if (d.time === data[data.length - 1].time) data[data.length - 1].value = d.value;
            continue;
          }
          data.push(d);
        }
        const grew = data.length !== n;
        curveKey = k;
        n = data.length;
        lastTime = n ? data[n - 1].time : 0;
        series.setData(data);
        if (grew) chart.timeScale().fitContent();
        return;
      }
      // only the current equity moved: update the newest point, or add one after it
      if (!last) return;
      const d = point(last);
      if (!Number.isFinite(d.value) || d.time < lastTime) return;
      if (d.time > lastTime) n++;
      lastTime = d.time;
      series.update(d);
    },
    points: () => n,
  };
}

/** CURVE_STYLES tell the agents' curves apart by dash and symbol as well as by colour. */
export const CURVE_STYLES: { color: string; style: LineStyle; symbol: string; dash: string }[] = [
  { color: "#7aa2ff", style: LineStyle.Solid, symbol: "━━", dash: "solid" },
  { color: "#ffd166", style: LineStyle.Dashed, symbol: "╍╍", dash: "dashed" },
  { color: "#d6a2ff", style: LineStyle.Dotted, symbol: "┈┈", dash: "dotted" },
  { color: "#3ddc97", style: LineStyle.LargeDashed, symbol: "— —", dash: "long dashes" },
  { color: "#ff8fab", style: LineStyle.SparseDotted, symbol: "· · ·", dash: "sparse dots" },
];

export interface CurvesChart {
  chart: IChartApi;
  /** set draws an agent's curve (oldest first) in CURVE_STYLES[style % n]; an unchanged
   * curve is not drawn again. */
  set(agent: string, curve: CurvePoint[] | null | undefined, style: number): void;
  /** points is how many points each agent's curve has drawn. */
  points(): Record<string, number>;
}

/** curvesChart draws several equity curves on one chart, one line series each; precision is
 * the decimals of the price scale (2: cents). */
export function curvesChart(el: HTMLElement, precision = 2): CurvesChart {
  const chart = createChart(el, CHART_OPTIONS);
  const lines = new Map<string, { series: ISeriesApi<"Line">; key: string; n: number }>();
  return {
    chart,
    set(agent, curve, style) {
      let l = lines.get(agent);
      if (!l) {
        const st = CURVE_STYLES[style % CURVE_STYLES.length];
        const series = chart.addSeries(LineSeries, {
          color: st.color,
          lineStyle: st.style,
          lineWidth: 2,
          title: agent,
          priceFormat: { type: "price", precision, minMove: 10 ** -precision },
        });
        l = { series, key: "", n: 0 };
        lines.set(agent, l);
      }
      const pts = curve ?? [];
      const tail = pts.length ? pts[pts.length - 1] : null;
      const k = `${pts.length}:${pts.length ? pts[0].time : 0}:${tail?.time ?? 0}:${tail?.equity ?? ""}`;
      if (k === l.key) return;
      const data: { time: UTCTimestamp; value: number }[] = [];
      for (const p of pts) {
        const d = { time: Math.floor(p.time / 1000) as UTCTimestamp, value: Number(p.equity) };
        if (!Number.isFinite(d.value)) continue;
        if (data.length && d.time <= data[data.length - 1].time) {
          if (d.time === data[data.length - 1].time) data[data.length - 1].value = d.value;
          continue;
        }
        data.push(d);
      }
      const grew = data.length !== l.n;
      l.key = k;
      l.n = data.length;
      l.series.setData(data);
      if (grew) chart.timeScale().fitContent();
    },
    points: () => Object.fromEntries([...lines].map(([a, l]) => [a, l.n])),
  };
}

/** FanBand is the distribution of the projected equity after `step` steps (percentiles). */
export interface FanBand {
  step: number;
  p5: number;
  p25: number;
  p50: number;
  p75: number;
  p95: number;
}

type Target = Parameters<IPrimitivePaneRenderer["draw"]>[0];

/** FanFill shades the fan under the percentile lines: p5 to p95 lightly, p25 to p75 more. */
class FanFill implements ISeriesPrimitive<Time> {
  private rows: { time: UTCTimestamp; b: FanBand }[] = [];
  private param: SeriesAttachedParameter<Time> | null = null;
  private readonly views: readonly IPrimitivePaneView[];

  constructor() {
    const renderer: IPrimitivePaneRenderer = { draw: (t) => this.draw(t) };
    this.views = [{ zOrder: () => "bottom", renderer: () => renderer }];
  }
  attached(p: SeriesAttachedParameter<Time>): void {
    this.param = p;
  }
  detached(): void {
    this.param = null;
  }
  paneViews(): readonly IPrimitivePaneView[] {
    return this.views;
  }
  set(rows: { time: UTCTimestamp; b: FanBand }[]): void {
    this.rows = rows;
    this.param?.requestUpdate();
  }
  private draw(target: Target): void {
    const p = this.param;
    if (!p || this.rows.length < 2) return;
    const ts = p.chart.timeScale();
    const s = p.series;
    target.useMediaCoordinateSpace(({ context: ctx }) => {
      const band = (lo: keyof FanBand, hi: keyof FanBand, fill: string) => {
        const top: [number, number][] = [];
        const bottom: [number, number][] = [];
        for (const r of this.rows) {
          const x = ts.timeToCoordinate(r.time);
          const y1 = s.priceToCoordinate(r.b[hi]);
          const y0 = s.priceToCoordinate(r.b[lo]);
          if (x === null || y1 === null || y0 === null) continue;
          top.push([x, y1]);
          bottom.push([x, y0]);
        }
        if (top.length < 2) return;
        ctx.beginPath();
        ctx.moveTo(top[0][0], top[0][1]);
        for (const [x, y] of top) ctx.lineTo(x, y);
        for (let i = bottom.length - 1; i >= 0; i--) ctx.lineTo(bottom[i][0], bottom[i][1]);
        ctx.closePath();
        ctx.fillStyle = fill;
        ctx.fill();
      };
      band("p5", "p95", "rgba(122,162,255,0.16)");
      band("p25", "p75", "rgba(122,162,255,0.30)");
    });
  }
}

/** FAN_LINES: the percentile lines, outer ones dotted and thin, the median solid. */
const FAN_LINES: { key: keyof FanBand; title: string; style: LineStyle; width: 1 | 2 | 3; color: string }[] = [
  { key: "p95", title: "p95", style: LineStyle.Dotted, width: 1, color: "rgba(154,182,255,0.8)" },
  { key: "p75", title: "p75", style: LineStyle.Dashed, width: 1, color: "rgba(154,182,255,0.9)" },
  { key: "p50", title: "median", style: LineStyle.Solid, width: 2, color: "#ffffff" },
  { key: "p25", title: "p25", style: LineStyle.Dashed, width: 1, color: "rgba(154,182,255,0.9)" },
  { key: "p5", title: "p5", style: LineStyle.Dotted, width: 1, color: "rgba(154,182,255,0.8)" },
];

export interface FanChart {
  chart: IChartApi;
  /** set draws a projection: bands from step 0, a step being stepMs after `from` (epoch
   * ms), with the goal (0: none) and the start as labelled price lines. */
  set(bands: FanBand[], from: number, stepMs: number, start: number, goal: number): void;
  /** points is how many steps are drawn. */
  points(): number;
}

/** fanChart draws a Monte Carlo projection as a fan: the 5th to 95th percentiles shaded,
 * the 25th to 75th shaded more, and a line per percentile. */
export function fanChart(el: HTMLElement): FanChart {
  const chart = createChart(el, CHART_OPTIONS);
  const series = new Map<keyof FanBand, ISeriesApi<"Line">>();
  for (const l of FAN_LINES) {
    series.set(
      l.key,
      chart.addSeries(LineSeries, {
        color: l.color,
        lineStyle: l.style,
        lineWidth: l.width,
        title: l.key === "p25" || l.key === "p75" ? "" : l.title,
        lastValueVisible: l.key === "p50" || l.key === "p5" || l.key === "p95",
        priceLineVisible: false,
        crosshairMarkerVisible: l.key === "p50",
        priceFormat: { type: "price", precision: 2, minMove: 0.01 },
      }),
    );
  }
  const median = series.get("p50")!;
  const fill = new FanFill();
  median.attachPrimitive(fill);
  let lines: IPriceLine[] = [];
  let n = 0;
  return {
    chart,
    set(bands, from, stepMs, start, goal) {
      const rows = bands
        .filter((b) => [b.p5, b.p25, b.p50, b.p75, b.p95].every(Number.isFinite))
        .map((b) => ({ time: Math.floor((from + b.step * stepMs) / 1000) as UTCTimestamp, b }));
      for (const l of FAN_LINES) series.get(l.key)!.setData(rows.map((r) => ({ time: r.time, value: r.b[l.key] })));
      fill.set(rows);
      for (const l of lines) median.removePriceLine(l);
      lines = [median.createPriceLine({ price: start, color: "rgba(148,160,196,0.7)", lineWidth: 1, lineStyle: LineStyle.Dashed, axisLabelVisible: true, title: "start" })];
      if (goal > 0) lines.push(median.createPriceLine({ price: goal, color: "#3ddc97", lineWidth: 1, lineStyle: LineStyle.LargeDashed, axisLabelVisible: true, title: "goal" }));
      n = rows.length;
      chart.timeScale().fitContent();
    },
    points: () => n,
  };
}

/** LossCurve is one loss per epoch (epoch 1 first); null where the loss was not a number. */
export type LossCurve = (number | null)[] | null | undefined;

export interface LossChart {
  chart: IChartApi;
  /** set draws the train, holdout and validation losses; unchanged curves are not drawn again. */
  set(train: LossCurve, holdout: LossCurve, valid: LossCurve): void;
  /** points is how many epochs each curve has drawn. */
  points(): { train: number; holdout: number; validation: number };
}

/** LOSS_CURVES name a training's loss curves, in CURVE_STYLES' first three styles. */
export const LOSS_CURVES = ["train", "holdout", "validation"] as const;

/** lossChart draws a training's loss curves against the epoch (the x axis counts epochs:
 * epoch n sits at time n). */
export function lossChart(el: HTMLElement): LossChart {
  const chart = createChart(el, {
    ...CHART_OPTIONS,
    timeScale: { ...CHART_OPTIONS.timeScale, timeVisible: false, tickMarkFormatter: (t: Time) => String(t) },
    localization: { timeFormatter: (t: Time) => `epoch ${t}` },
  });
  const lines = LOSS_CURVES.map((name, i) =>
    chart.addSeries(LineSeries, {
      color: CURVE_STYLES[i].color,
      lineStyle: CURVE_STYLES[i].style,
      lineWidth: 2,
      title: name,
      pointMarkersVisible: true,
      priceFormat: { type: "price", precision: 4, minMove: 0.0001 },
    }),
  );
  const keys = ["", "", ""];
  const counts = [0, 0, 0];
  // Every epoch in view: the chart may get its width after the first curves.
  chart.timeScale().subscribeSizeChange(() => chart.timeScale().fitContent());
  return {
    chart,
    set(train, holdout, valid) {
      let grew = false;
      [train, holdout, valid].forEach((curve, i) => {
        const pts = curve ?? [];
        const key = pts.join(",");
        if (key === keys[i]) return;
        keys[i] = key;
        const data: { time: UTCTimestamp; value: number }[] = [];
        pts.forEach((v, e) => {
          if (typeof v === "number" && Number.isFinite(v)) data.push({ time: (e + 1) as UTCTimestamp, value: v });
        });
        grew ||= data.length !== counts[i];
        counts[i] = data.length;
        lines[i].setData(data);
      });
      if (grew) chart.timeScale().fitContent();
    },
    points: () => ({ train: counts[0], holdout: counts[1], validation: counts[2] }),
  };
}
