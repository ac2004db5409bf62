// The equity chart of an agent, shared by the Agents page and the backtest report. Equity
// arrives as decimal strings; only the drawing turns it into numbers.
import { createChart, AreaSeries, IChartApi, ISeriesApi, UTCTimestamp } from "lightweight-charts";

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

export function equityChart(el: HTMLElement, capital?: string): EquityChart {
  const chart = createChart(el, {
    autoSize: true,
    layout: { background: { color: "transparent" }, textColor: "#8a97bd", attributionLogo: false },
    grid: { vertLines: { color: "rgba(120,140,200,0.08)" }, horzLines: { color: "rgba(120,140,200,0.08)" } },
    timeScale: { timeVisible: true, secondsVisible: false, borderColor: "#24304f" },
    rightPriceScale: { borderColor: "#24304f" },
    handleScroll: { mouseWheel: false, pressedMouseMove: true },
    handleScale: { mouseWheel: false, pinch: true },
  });
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
