// The System Health page: the engine's actor tree (as the graph topic draws it) with each
// actor's restarts and queue depths, the log's streams with the lag of each follower, the
// throughput, and the latency percentiles of each stage of the live path over the last
// minute (the window the snapshot names: stages_window_s). All of it but the
// log's publish counters (the "engine" topic) comes from the "health" topic, which the engine
// builds every second (the "health" query answers the same snapshot); the page fills from
// the query before the first frame.
import { Live, query, AuthError } from "./live";
import { esc, int, num, time, h, put } from "./format";
import { panel } from "./panel";

export interface Queue {
  name: string;
  depth: number;
  bound: number; // 0: bounded by what feeds it, not by a number
}

export interface HealthActor {
  id: string;
  parent: string;
  kind: string;
  label: string;
  count: number;
  rate: number;
  restarts: number | null; // null: not an actor (a group, a stream, the feed)
  queues: Queue[];
  status?: string;
}

export interface ConsumerLag {
  consumer: string;
  position: number;
  lag: number;
}

export interface StageLatency {
  stage: string;
  count: number; // in the window
  total: number; // since the engine started
  p50_us: number | null;
  p90_us: number | null;
  p99_us: number | null;
}

export interface Health {
  time: number;
  actors: HealthActor[];
  streams: { name: string; last_seq: number; consumers: ConsumerLag[] }[];
  throughput: { events_routed: number; signals: number; orders: number };
  stages: StageLatency[];
  stages_window_s: number; // the span the stages' counts and percentiles cover
}

/** What each stage times, as the tick-to-order benchmark cuts the path. */
const STAGES: Record<string, string> = {
  tick_to_feature: "market event on the log → 1m feature out of its symbol actor",
  feature_to_signal: "feature → the ensemble's signal (models, batcher, ONNX Runtime)",
  signal_to_intent: "signal → the agent's order intent",
  intent_ack: "intent → persisted on the log (ack)",
  risk_check: "the risk gate's check of an intent",
};

/** latency shows µs as µs, ms or s, three significant digits at most. */
export function latency(us: number | null): string {
  if (us === null || us === undefined) return "—";
  if (us < 1000) return `${num(us, us < 10 ? 1 : 0)} µs`;
  if (us < 1e6) return `${num(us / 1000, us < 1e4 ? 2 : 1)} ms`;
  return `${num(us / 1e6, 2)} s`;
}

/** windowLabel names the span the percentiles cover: "last 60 s". */
export function windowLabel(s: number): string {
  return `last ${int(Math.round(s))} s`;
}

/** queues shows an actor's queues: "market_data 3/64 · desk 0". */
export function queues(qs: Queue[]): string {
  if (!qs.length) return "—";
  return qs.map((q) => `${q.name} ${int(q.depth)}${q.bound ? "/" + int(q.bound) : ""}${q.bound && q.depth >= q.bound ? " ⚠ full" : ""}`).join(" · ");
}

function restarts(n: number | null): string {
  if (n === null || n === undefined) return "—";
  return n > 0 ? `⚠ ${n}` : "0";
}

/** treeRows lays the actors out depth first under their parents, each with its depth. */
export function treeRows(actors: HealthActor[]): { a: HealthActor; depth: number }[] {
  const children = new Map<string, HealthActor[]>();
  for (const a of actors) {
    const list = children.get(a.parent) ?? [];
    list.push(a);
    children.set(a.parent, list);
  }
  const out: { a: HealthActor; depth: number }[] = [];
  const seen = new Set<string>();
  const walk = (parent: string, depth: number) => {
    for (const a of children.get(parent) ?? []) {
      if (seen.has(a.id)) continue;
      seen.add(a.id);
      out.push({ a, depth });
      walk(a.id, depth + 1);
    }
  };
  walk("", 0);
  return out;
}

export function healthPage(root: HTMLElement, live: Live): void {
  const tp = panel(root, "Throughput (per second, last 5 s)", "figures");
  tp.innerHTML = `<div class="figs">
    <div class="fig"><span class="fig-label">events routed / s</span><span class="fig-value" id="hl-events" data-live>—</span></div>
    <div class="fig"><span class="fig-label">signals / s (SIG)</span><span class="fig-value" id="hl-signals">—</span></div>
    <div class="fig"><span class="fig-label">order intents / s</span><span class="fig-value" id="hl-orders">—</span></div>
    <div class="fig"><span class="fig-label">snapshot</span><span class="fig-value" id="hl-time">—</span></div></div>`;
  const lg = panel(root, "The log (publishes of this engine)", "figures");
  const fig = (label: string, id: string) => `<div class="fig"><span class="fig-label">${esc(label)}</span><span class="fig-value" id="${id}">—</span></div>`;
  lg.innerHTML = `<div class="figs">${fig("MD published", "hl-pub")}${fig("duplicates dropped", "hl-dup")}${fig("publish failures", "hl-fail")}${fig("bad on the log (skipped)", "hl-bad")}</div>`;
  live.on("engine", (_t, e) => {
    put(document.getElementById("hl-pub")!, int(e.log?.published));
    put(document.getElementById("hl-dup")!, int(e.log?.duplicates));
    put(document.getElementById("hl-fail")!, e.log?.failed > 0 ? `⚠ ${int(e.log.failed)}` : int(e.log?.failed));
    put(document.getElementById("hl-bad")!, e.graph?.bad_on_the_log > 0 ? `⚠ ${int(e.graph.bad_on_the_log)}` : int(e.graph?.bad_on_the_log));
  });
  const lat = panel(root, "Latency by stage (last minute)");
  const latTitle = lat.parentElement!.querySelector("h2")!;
  latTitle.id = "hl-stages-title";
  lat.innerHTML = `<table><thead><tr><th>stage</th><th>what it times</th><th class="num">count</th><th class="num">p50</th><th class="num">p90</th><th class="num">p99</th><th class="num">count since start</th></tr></thead><tbody id="hl-stages"></tbody></table>`;
  const st = panel(root, "Streams and consumer lags");
  st.innerHTML = `<table><thead><tr><th>stream</th><th class="num">last seq</th><th>consumer</th><th class="num">position</th><th class="num">lag</th></tr></thead><tbody id="hl-streams"></tbody></table>`;
  const tr = panel(root, "Actor tree");
  tr.innerHTML = `<div class="table-wrap"><table class="health-tree"><thead><tr><th>actor</th><th>kind</th><th class="num">rate/s</th><th class="num">restarts</th><th>queues (depth/bound)</th><th>status</th></tr></thead><tbody id="hl-tree"></tbody></table></div>`;

  const show = (hs: Health | null) => {
    if (!hs || !Array.isArray(hs.actors)) return;
    root.dataset.healthTime = String(hs.time);
    put(document.getElementById("hl-events")!, num(hs.throughput.events_routed, 1));
    put(document.getElementById("hl-signals")!, num(hs.throughput.signals, 1));
    put(document.getElementById("hl-orders")!, num(hs.throughput.orders, 2));
    put(document.getElementById("hl-time")!, esc(time(hs.time)));
    latTitle.dataset.window = String(hs.stages_window_s);
    latTitle.textContent = `Latency by stage (${windowLabel(hs.stages_window_s)})`;
    put(
      document.getElementById("hl-stages")!,
      hs.stages
        .map(
          (s) =>
            `<tr data-stage="${esc(s.stage)}"><td>${esc(s.stage)}</td><td class="dim">${esc(STAGES[s.stage] ?? "")}</td><td class="num" data-count="${s.count}">${int(s.count)}</td>` +
            `<td class="num" data-us="${s.p50_us ?? ""}">${latency(s.p50_us)}</td><td class="num" data-us="${s.p90_us ?? ""}">${latency(s.p90_us)}</td>` +
            `<td class="num" data-us="${s.p99_us ?? ""}">${latency(s.p99_us)}</td><td class="num dim" data-total="${s.total}">${int(s.total)}</td></tr>`,
        )
        .join(""),
    );
    const rows: string[] = [];
    for (const s of hs.streams) {
      const cs = s.consumers.length ? s.consumers : [null];
      cs.forEach((c, i) => {
        const lag = c ? `${int(c.lag)}${c.lag > 0 ? " ⚠ behind" : " ✓"}` : "—";
        rows.push(
          `<tr data-stream="${esc(s.name)}" data-actor="stream/${esc(s.name)}"${c ? ` data-consumer="${esc(c.consumer)}" data-lag="${c.lag}"` : ""}><td>${i === 0 ? esc(s.name) : ""}</td><td class="num">${i === 0 ? int(s.last_seq) : ""}</td>` +
            `<td>${c ? esc(c.consumer) : '<span class="dim">no follower in the engine</span>'}</td><td class="num">${c ? int(c.position) : "—"}</td><td class="num">${lag}</td></tr>`,
        );
      });
    }
    put(document.getElementById("hl-streams")!, rows.join(""));
    put(
      document.getElementById("hl-tree")!,
      treeRows(hs.actors)
        .map(({ a, depth }) => {
          const depthSum = a.queues.reduce((n, q) => n + q.depth, 0);
          return (
            `<tr data-actor="${esc(a.id)}" data-parent="${esc(a.parent)}" data-restarts="${a.restarts ?? ""}" data-depth="${depthSum}">` +
            `<td style="padding-left:${6 + depth * 18}px">${depth ? "└ " : ""}${esc(a.label)}</td><td class="dim">${esc(a.kind)}</td>` +
            `<td class="num">${a.kind === "group" || a.kind === "engine" ? "" : num(a.rate, 1)}</td><td class="num">${restarts(a.restarts)}</td>` +
            `<td>${esc(queues(a.queues))}</td><td>${esc(a.status ?? "")}</td></tr>`
          );
        })
        .join(""),
    );
  };
  live.on("health", (_t, v) => show(v as Health));
  query("health")
    .then((v) => {
      if (!root.dataset.healthTime) show(v as Health);
    })
    .catch((e) => {
      if (!(e instanceof AuthError)) console.warn("health query", e);
    });
}
