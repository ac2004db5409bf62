// The Training page: start a models.train run on the engine (an admin token's command),
// follow every run live from its hub topic training/<id> (progress, the loss curves per
// epoch, the validation metrics beside the naive baseline's), and deploy a finished run's
// model in shadow. Below, how the models the engine serves were trained, from their cards
// (GET /api/v1/queries/training).
import "./training.css";
import { Live, query, AuthError } from "./live";
import { command, describe } from "./commands";
import { guard, may } from "./access";
import { esc, h, int, num, put } from "./format";
import { lossChart, LossChart, LOSS_CURVES, CURVE_STYLES } from "./charts";

/** Scores are a model's (or the baseline's) metrics on the validation rows (inference.Scores). */
interface Scores {
  rows: number;
  positive_rate?: number | null;
  accuracy?: number | null;
  auc?: number | null;
  log_loss?: number | null;
  outputs?: { name: string; r2: number | null; mae: number | null }[];
}

/** Run is a training run as the engine publishes it (cmd/synapse TrainingRun). */
interface Run {
  id: string;
  seq: number;
  issuer?: string;
  issued: number;
  args: { model: string; data: string[]; out: string; version?: string; epochs?: number; seed?: number; horizon?: number };
  state: "queued" | "running" | "done" | "failed";
  stage?: string;
  reason?: string;
  before?: boolean;
  rows?: { fit: number; holdout: number; validation: number; embargoed: number };
  epoch: number;
  max_epochs: number;
  best_epoch?: number;
  train_loss: (number | null)[] | null;
  holdout_loss: (number | null)[] | null;
  validation_loss: (number | null)[] | null;
  started?: number;
  finished?: number;
  elapsed_ms: number;
  epochs_eta_ms?: number; // the epochs' only: the data reading before and the export after have no estimate
  card?: string;
  version?: string;
  metrics?: Scores;
  baseline_metrics?: Scores;
}

/** Deployed is how a model the engine serves was trained (cmd/synapse DeployedTraining). */
interface Deployed {
  model: string;
  mode: string;
  version: string;
  source: string;
  rows: { fit: number; holdout: number; validation: number };
  training: { epochs: number; max_epochs: number; best_epoch: number; train_loss: (number | null)[]; holdout_loss: (number | null)[]; validation_loss: (number | null)[] };
  metrics: Scores;
  baseline_metrics: Scores;
}

const STATE_TEXT: Record<Run["state"], string> = { queued: "◦ queued", running: "▶ running", done: "✓ done", failed: "✗ failed" };

function section(root: HTMLElement, title: string, sub = "", cls = ""): HTMLElement {
  const s = h("section", `glass card ${cls}`);
  s.innerHTML = `<div class="panel-head"><h2>${esc(title)}</h2>${sub}</div>`;
  const body = h("div", "body");
  s.appendChild(body);
  root.appendChild(s);
  return body;
}

/** duration shows milliseconds as "0.4 s", "12.3 s" or "3 min 05 s". */
function duration(ms: number | undefined): string {
  if (typeof ms !== "number" || !isFinite(ms) || ms < 0) return "—";
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
}

/** metric shows a score with 4 significant digits: small MAEs stay legible. */
function metric(v: number | null | undefined): string {
  return typeof v === "number" && isFinite(v) ? (v === 0 ? "0" : v.toPrecision(4)) : "—";
}

function last(curve: (number | null)[] | null | undefined): number | null | undefined {
  return curve && curve.length ? curve[curve.length - 1] : undefined;
}

/** metricsTable puts the model's validation metrics beside the baseline's, saying in words
 * (✓/✗) which is better: higher is better for accuracy, AUC and R², lower for log loss and
 * MAE. */
export function metricsTable(m: Scores | undefined, b: Scores | undefined): string {
  if (!m || !b) return "";
  const rows: [string, number | null | undefined, number | null | undefined, boolean][] = [];
  if (m.accuracy !== undefined) {
    rows.push(["accuracy", m.accuracy, b.accuracy, true], ["AUC", m.auc, b.auc, true], ["log loss", m.log_loss, b.log_loss, false]);
  }
  for (const o of m.outputs ?? []) {
    const bo = (b.outputs ?? []).find((x) => x.name === o.name);
    rows.push([`${o.name} R²`, o.r2, bo?.r2, true], [`${o.name} MAE`, o.mae, bo?.mae, false]);
  }
  const verdict = (v: number | null | undefined, base: number | null | undefined, higher: boolean): string => {
    if (typeof v !== "number" || typeof base !== "number") return `<td>—</td>`;
    if (v === base) return `<td class="tie">= tie</td>`;
    const better = higher ? v > base : v < base;
    return better ? `<td class="up">✓ model better</td>` : `<td class="down">✗ baseline better</td>`;
  };
  const body = rows
    .map(([name, v, base, higher]) => `<tr data-metric="${esc(name)}"><td>${esc(name)} <span class="dim">${higher ? "↑" : "↓"}</span></td><td class="num">${metric(v)}</td><td class="num">${metric(base)}</td>${verdict(v, base, higher)}</tr>`)
    .join("");
  const positive = typeof m.positive_rate === "number" ? ` · ${num(m.positive_rate * 100, 1)}% of labels are 1` : "";
  return `<table class="tr-metrics-table"><caption>Validation: ${int(m.rows)} rows${positive}; ↑ higher is better, ↓ lower</caption>
    <thead><tr><th>metric</th><th>model</th><th>baseline</th><th>better</th></tr></thead><tbody>${body}</tbody></table>`;
}

const LEGEND = `<p class="legend tr-legend">${LOSS_CURVES.map((n, i) => `<span><span aria-hidden="true" style="color:${CURVE_STYLES[i].color}">${CURVE_STYLES[i].symbol}</span> ${n} loss</span>`).join("")}<span class="dim">x: epoch</span></p>`;

/** CurvesView is a training's loss chart with its legend and metrics table. */
interface CurvesView {
  chart: LossChart;
  chartEl: HTMLElement;
  metrics: HTMLElement;
}

function curvesView(parent: HTMLElement): CurvesView {
  const wrap = h("div", "tr-curves");
  wrap.innerHTML = `<div class="tr-chart-col"><div class="chart tr-chart" data-points="0" role="img" aria-label="loss per epoch: train, holdout and validation"></div>${LEGEND}</div><div class="tr-metrics"></div>`;
  parent.appendChild(wrap);
  const chartEl = wrap.querySelector(".tr-chart") as HTMLElement;
  return { chart: lossChart(chartEl), chartEl, metrics: wrap.querySelector(".tr-metrics") as HTMLElement };
}

function drawCurves(v: CurvesView, train: Run["train_loss"], holdout: Run["train_loss"], valid: Run["train_loss"]): void {
  v.chart.set(train, holdout, valid);
  const p = v.chart.points();
  v.chartEl.dataset.points = String(p.train);
  v.chartEl.dataset.series = `${p.train},${p.holdout},${p.validation}`;
}

/** RunCard is one run's card on the page. */
interface RunCard {
  el: HTMLElement;
  head: HTMLElement;
  bar: HTMLProgressElement;
  text: HTMLElement;
  reason: HTMLElement;
  curves: CurvesView;
  deploy: HTMLButtonElement;
  msg: HTMLElement;
  run: Run;
}

export function trainingPage(root: HTMLElement, live: Live): void {
  const form = section(root, "Start a training run", `<span class="sub dim">an admin token's command · the engine trains one run at a time, beside the trading</span>`, "tr-form-panel");
  form.innerHTML = `<form id="tr-form" class="tr-form" novalidate>
      <label class="wide">Market data files on the engine's machine (1m kline CSVs or captures), one per line
        <textarea name="data" id="tr-data" rows="2" required spellcheck="false" placeholder="streams/recordings/ETHUSDT-1m-2022-08-14.csv.gz"></textarea></label>
      <label>Model <select name="model" id="tr-model"><option>direction</option><option>range</option><option>tp_sl</option></select></label>
      <label>Epochs (at most) <input name="epochs" id="tr-epochs" type="number" min="1" max="1000" value="30" required></label>
      <label>Version <input name="version" id="tr-version" value="1" maxlength="32" required></label>
      <label>Seed <input name="seed" id="tr-seed" type="number" min="1" placeholder="default"></label>
      <label>Horizon <input name="horizon" id="tr-horizon" type="number" min="1" max="1440" placeholder="15 candles"></label>
      <label class="wide">Output folder for MODEL.onnx and MODEL.json <input name="out" id="tr-out" required spellcheck="false" placeholder="models/direction-v2"></label>
      <div class="wide controls"><button type="submit" class="btn" id="tr-start">Start training</button></div>
    </form>
    <p id="tr-msg" class="msg" role="status" aria-live="polite"></p>`;
  const runsBody = section(root, "Training runs", `<span class="sub" id="tr-count" data-live>…</span>`, "tr-runs-panel");
  runsBody.innerHTML = `<p class="dim" id="tr-none">No training run on the log yet: start one above.</p><div id="tr-runs" class="tr-runs"></div>`;
  const deployedBody = section(root, "Models being served: how they were trained", `<span class="sub dim">from their cards</span>`, "tr-deployed-panel");
  deployedBody.innerHTML = `<div id="tr-deployed" class="dim">loading…</div>`;

  const formEl = form.querySelector("#tr-form") as HTMLFormElement;
  const msg = form.querySelector("#tr-msg") as HTMLElement;
  const startBtn = form.querySelector("#tr-start") as HTMLButtonElement;
  guard(startBtn, "models.train");
  const say = (el: HTMLElement, text: string, ok: boolean) => {
    el.textContent = text;
    el.classList.toggle("ok", ok);
    el.classList.toggle("error", !ok);
  };
  const field = (name: string) => formEl.querySelector(`[name="${name}"]`) as HTMLInputElement;
  formEl.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    formEl.querySelectorAll("[aria-invalid]").forEach((e) => e.removeAttribute("aria-invalid"));
    const args: Record<string, unknown> = {
      model: field("model").value,
      data: field("data").value.split(/[\n,]/).map((s) => s.trim()).filter((s) => s !== ""),
      out: field("out").value.trim(),
      version: field("version").value.trim(),
      epochs: Number(field("epochs").value),
    };
    for (const n of ["seed", "horizon"]) if (field(n).value.trim() !== "") args[n] = Number(field(n).value);
    startBtn.disabled = true;
    say(msg, "… models.train sent", true);
    const res = await command("models.train", args);
    startBtn.disabled = !may("models.train");
    say(msg, describe("models.train", res) + (res.ok ? ` — run ${res.id}` : ""), res.ok);
    if (!res.ok && res.field) {
      const named = field(res.field.replace(/\[\d+\]$/, ""));
      named?.setAttribute("aria-invalid", "true");
      named?.focus();
    }
  });

  const list = runsBody.querySelector("#tr-runs") as HTMLElement;
  const cards = new Map<string, RunCard>();
  const count = runsBody.parentElement!.querySelector("#tr-count") as HTMLElement;
  const showCount = () => {
    const by = { queued: 0, running: 0, done: 0, failed: 0 };
    for (const c of cards.values()) by[c.run.state]++;
    count.textContent = `${cards.size} run${cards.size === 1 ? "" : "s"} · ${by.running} running · ${by.queued} queued · ${by.done} done · ${by.failed} failed`;
    (runsBody.querySelector("#tr-none") as HTMLElement).hidden = cards.size > 0;
  };

  function card(run: Run): RunCard {
    let c = cards.get(run.id);
    if (c) return c;
    const el = h("article", "tr-run");
    el.dataset.run = run.id;
    el.dataset.actor = `model/${run.args.model}`; // the model it trains
    el.dataset.seq = String(run.seq);
    el.innerHTML = `<div class="tr-run-head"></div>
      <div class="tr-progress"><progress max="1" value="0" aria-label="epochs finished"></progress><span class="tr-progress-text" data-live></span></div>
      <p class="msg error tr-reason" hidden></p>`;
    const curves = curvesView(el);
    const controls = h("div", "controls");
    controls.innerHTML = `<button type="button" class="btn tr-deploy" hidden title="models.deploy with this run's folder, in shadow: it scores beside the live model without trading">Deploy in shadow</button>`;
    el.appendChild(controls);
    const m = h("p", "msg tr-deploy-msg");
    m.setAttribute("role", "status");
    el.appendChild(m);
    // newest (highest CMD seq) first
    const after = [...list.children].find((x) => Number((x as HTMLElement).dataset.seq) < run.seq);
    list.insertBefore(el, after ?? null);
    c = {
      el,
      head: el.querySelector(".tr-run-head") as HTMLElement,
      bar: el.querySelector("progress") as HTMLProgressElement,
      text: el.querySelector(".tr-progress-text") as HTMLElement,
      reason: el.querySelector(".tr-reason") as HTMLElement,
      curves,
      deploy: controls.querySelector(".tr-deploy") as HTMLButtonElement,
      msg: m,
      run,
    };
    guard(c.deploy, "models.deploy");
    const cc = c;
    cc.deploy.addEventListener("click", async () => {
      cc.deploy.disabled = true;
      say(cc.msg, "… models.deploy sent", true);
      const res = await command("models.deploy", { model: cc.run.args.model, dir: cc.run.args.out, mode: "shadow" });
      cc.deploy.disabled = !may("models.deploy");
      say(cc.msg, describe("models.deploy", res) + (res.ok ? `: ${cc.run.args.model} v${cc.run.version ?? cc.run.args.version} in shadow (see Models)` : ""), res.ok);
    });
    cards.set(run.id, c);
    return c;
  }

  function show(run: Run): void {
    const c = card(run);
    if (c.run.seq === run.seq && stale(c.run, run)) return;
    c.run = run;
    c.el.dataset.state = run.state;
    const a = run.args;
    put(
      c.head,
      `<b>${esc(a.model)}</b> <span class="num">v${esc(run.version ?? a.version ?? "1")}</span> <span class="badge tr-state tr-${run.state}">${STATE_TEXT[run.state]}</span>
       <span class="dim">CMD #${int(run.seq)}${run.issuer ? ` · by ${esc(run.issuer)}` : ""} · ${a.data.length} file${a.data.length === 1 ? "" : "s"} → <span class="tr-out">${esc(a.out)}</span>${run.before ? (run.state === "failed" ? " · failed before this start, not tried again" : " · trained before this start") : ""}</span>`,
    );
    c.bar.max = Math.max(1, run.max_epochs);
    c.bar.value = run.epoch;
    const parts = [`epoch ${run.epoch} / ${run.max_epochs}`];
    if (run.state === "done" && run.epoch < run.max_epochs) parts.push(`early stop (best epoch ${run.best_epoch})`);
    else if (run.best_epoch) parts.push(`best epoch ${run.best_epoch}`);
    const tl = last(run.train_loss), hl = last(run.holdout_loss), vl = last(run.validation_loss);
    if (run.epoch > 0) parts.push(`loss: train ${num(tl, 4)} · holdout ${num(hl, 4)} · validation ${num(vl, 4)}`);
    if (run.rows) parts.push(`rows: ${int(run.rows.fit)} fit · ${int(run.rows.holdout)} holdout · ${int(run.rows.validation)} validation`);
    if (run.started) parts.push(`elapsed ${duration(run.elapsed_ms)}`);
    if (run.state === "running" && run.stage) {
      parts.push(run.epochs_eta_ms !== undefined ? `${run.stage}: ≤ ${duration(run.epochs_eta_ms)} left (the export after them has no estimate)` : `${run.stage} (no estimate for this stage)`);
    }
    if (run.state === "queued") parts.push("waits for the runs before it");
    c.text.textContent = parts.join(" · ");
    c.reason.hidden = run.state !== "failed";
    c.reason.textContent = run.state === "failed" ? `✗ ${run.stage ? `${run.stage}: ` : ""}${run.reason ?? "failed"}` : "";
    drawCurves(c.curves, run.train_loss, run.holdout_loss, run.validation_loss);
    put(c.curves.metrics, run.state === "done" ? metricsTable(run.metrics, run.baseline_metrics) : `<p class="dim">The validation metrics and the baseline's come when the run is done.</p>`);
    c.deploy.hidden = run.state !== "done";
    showCount();
  }

  /** stale: an older view of the run than the one shown (the query and the topic race). */
  function stale(shown: Run, got: Run): boolean {
    const order = { queued: 0, running: 1, done: 2, failed: 2 };
    return order[got.state] < order[shown.state] || (got.state === shown.state && got.epoch < shown.epoch);
  }

  live.on("training/", (_t, run: Run) => show(run));

  const deployedEl = deployedBody.querySelector("#tr-deployed") as HTMLElement;
  const deployedViews = new Map<string, { el: HTMLElement; head: HTMLElement; curves: CurvesView }>();
  function showDeployed(list: Deployed[]): void {
    if (deployedEl.className !== "tr-runs") {
      deployedEl.className = "tr-runs";
      deployedEl.textContent = ""; // "loading…"
    }
    if (!list.length && !deployedViews.size) deployedEl.innerHTML = `<p class="dim">The engine serves no model (started with --no-models).</p>`;
    const seen = new Set<string>();
    for (const d of list) {
      const key = `${d.model}/${d.mode}`;
      seen.add(key);
      let v = deployedViews.get(key);
      if (!v) {
        const el = h("article", "tr-run tr-deployed");
        el.dataset.deployed = key;
        el.dataset.actor = `model/${d.model}${d.mode === "shadow" ? "@shadow" : ""}`;
        el.innerHTML = `<div class="tr-run-head"></div>`;
        deployedEl.querySelector("p.dim")?.remove();
        deployedEl.appendChild(el);
        v = { el, head: el.querySelector(".tr-run-head") as HTMLElement, curves: curvesView(el) };
        deployedViews.set(key, v);
      }
      const t = d.training;
      put(
        v.head,
        `<b>${esc(d.model)}</b> <span class="num" data-live>v${esc(d.version)}</span> <span class="badge">${d.mode === "live" ? "● live" : "◐ shadow"}</span>
         <span class="dim">${esc(d.source)} · ${int(t.epochs)} of ${int(t.max_epochs)} epochs, best ${int(t.best_epoch)} · ${int(d.rows.fit)} fit · ${int(d.rows.holdout)} holdout · ${int(d.rows.validation)} validation rows</span>`,
      );
      drawCurves(v.curves, t.train_loss, t.holdout_loss, t.validation_loss);
      put(v.curves.metrics, metricsTable(d.metrics, d.baseline_metrics));
    }
    for (const [key, v] of deployedViews) {
      if (!seen.has(key)) {
        v.curves.chart.chart.remove();
        v.el.remove();
        deployedViews.delete(key);
      }
    }
  }

  const load = () =>
    query("training")
      .then((a: { runs: Run[]; deployed: Deployed[] }) => {
        for (const r of a.runs ?? []) show(r);
        showCount();
        showDeployed(a.deployed ?? []);
      })
      .catch((e) => {
        if (e instanceof AuthError) window.dispatchEvent(new Event("synapse-auth"));
        deployedEl.textContent = `could not load: ${e instanceof Error ? e.message : e}`;
      });
  load();
  setInterval(load, 5000);
}
