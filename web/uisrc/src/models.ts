// The Models page: the versions each model serves live and, while one is deployed, in shadow,
// with the live version's accuracy since the start and the shadow's beside the live version's
// over the same rows; the deploy, promote and retire commands (they need an
// admin token: a refusal shows the engine's message); the batcher's throughput over the last
// interval; and per model the batcher's histograms (rows per batch, queue wait, run time) as
// bar charts. Versions and batcher figures come from GET /api/v1/queries/models, asked every
// 2 s (the batcher's histograms travel there, in batcher.Models[].BatchRows, QueueWait and
// RunSeconds); the model actors' counters and accuracy from the websocket topics model/<key>.
import { Live, query, AuthError } from "./live";
import { esc, int, num, put } from "./format";
import { command, describe } from "./commands";
import { say } from "./agentview";
import { guard, may, titled } from "./access";
import { Topology } from "./neural";

/** Deployment is one model version in service (inference.Deployment). */
interface Deployment {
  model: string;
  version: string;
  source: string;
  sha256: string;
}

/** Histogram is a batcher histogram as plain counts per bucket (inference.Histogram):
 * counts[i] are at most bounds[i] and above bounds[i-1]; the last count is above every bound. */
interface Histogram {
  bounds: number[];
  counts: number[];
}

/** ModelStats are one model's batcher counters (inference.ModelStats; Go field names). */
interface ModelStats {
  Key: string;
  Version: string;
  Provider: string;
  Requests: number;
  Served: number;
  Batches: number;
  Rows: number;
  DroppedDeadline: number;
  DroppedQueueFull: number;
  Failed: number;
  RunTime: number; // ns, added up
  Queued: number;
  Running: number;
  BatchRows: Histogram;
  QueueWait: Histogram;
  RunSeconds: Histogram;
}

interface ModelsAnswer {
  live: Deployment[] | null;
  shadow: Deployment[] | null;
  batcher: { Taken: string; Models: ModelStats[] | null; DroppedMailbox: number };
  runtime: string;
}

/** The model actors' state (inference.ModelState), from the topic model/<key>. */
interface ModelState {
  key: string;
  name: string;
  shadow: boolean;
  active: boolean;
  requests: number;
  signals: number;
  errors: number;
  scored: number;
  accuracy: number | null; // null until a prediction is scored
  latency_us: number;
  // a shadow's: the rows both it and the live version scored since it was deployed, and the
  // two accuracies over them
  compared: number;
  compared_accuracy: number | null;
  live_compared_accuracy: number | null;
}

const shadowKey = (model: string) => `${model}@shadow`;

/** accuracy shows a model actor's live accuracy, or "—" while none of its predictions is scored. */
function accuracy(m: ModelState | undefined): string {
  if (!m || m.accuracy === null || m.accuracy === undefined || !m.scored) return `<span class="dim" title="no prediction scored yet">—</span>`;
  return `${num(m.accuracy * 100, 1)} % <span class="dim">of ${int(m.scored)}</span>`;
}

/** compared shows a shadow's accuracy beside the live version's over the same rows (those both
 * scored since the shadow was deployed): the live figure since the start covers other rows. */
function compared(s: ModelState | undefined): string {
  if (!s || !s.compared || s.compared_accuracy == null || s.live_compared_accuracy == null)
    return `<span class="dim" title="no row scored by both yet">— vs live —</span>`;
  return `${num(s.compared_accuracy * 100, 1)} % vs live ${num(s.live_compared_accuracy * 100, 1)} % <span class="dim">on the same ${int(s.compared)} rows</span>`;
}

/** seconds shows a latency bound (seconds) in µs or ms. */
function seconds(s: number): string {
  return s < 1e-3 ? `${Math.round(s * 1e6)}µs` : `${+(s * 1e3).toPrecision(3)}ms`;
}

/** HISTOGRAMS: the batcher's three histograms, what each bar counts and how a bound reads. */
const HISTOGRAMS: { field: "BatchRows" | "QueueWait" | "RunSeconds"; title: string; x: string; y: string; bound: (b: number) => string }[] = [
  { field: "BatchRows", title: "batch size", x: "rows per batch (≤ bound)", y: "batches", bound: (b) => String(b) },
  { field: "QueueWait", title: "queue wait", x: "wait before the batch ran (≤ bound)", y: "requests", bound: seconds },
  { field: "RunSeconds", title: "run time", x: "ONNX Runtime time per batch (≤ bound)", y: "batches", bound: seconds },
];

/** barChart draws a histogram as an SVG bar chart with labelled axes; each bar carries its
 * count (data-count) and says its bucket and count on hover. */
function barChart(model: string, h: Histogram, o: (typeof HISTOGRAMS)[number]): string {
  const W = 320, H = 150, L = 40, B = 40, T = 10, R = 6;
  const n = h.counts.length;
  const total = h.counts.reduce((a, c) => a + c, 0);
  const top = Math.max(1, ...h.counts);
  const bw = (W - L - R) / n;
  const label = (i: number) => (i < h.bounds.length ? `≤${o.bound(h.bounds[i])}` : `>${o.bound(h.bounds[h.bounds.length - 1])}`);
  const bars = h.counts
    .map((c, i) => {
      const bh = ((H - T - B) * c) / top;
      return `<rect data-count="${c}" x="${(L + i * bw + 1).toFixed(1)}" y="${(H - B - bh).toFixed(1)}" width="${Math.max(1, bw - 2).toFixed(1)}" height="${bh.toFixed(1)}"><title>${esc(label(i))}: ${int(c)} ${esc(o.y)}</title></rect>`;
    })
    .join("");
  // bucket labels on the x axis: every third from the first, and the last (unless too close)
  const ticks = h.counts
    .map((_c, i) => ((i % 3 === 0 && i < n - 2) || i === n - 1 ? `<text class="tick" x="${(L + (i + 0.5) * bw).toFixed(1)}" y="${H - B + 12}" text-anchor="middle">${esc(label(i))}</text>` : ""))
    .join("");
  const mode = h.counts.indexOf(Math.max(...h.counts));
  const caption = total ? `${int(total)} ${o.y}; most ${label(mode)}` : `no ${o.y} yet`;
  return `<figure class="hist" data-model="${esc(model)}" data-hist="${o.field}" data-total="${total}">
    <figcaption>${esc(o.title)} <span class="dim">· ${esc(caption)}</span></figcaption>
    <svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(`${model} ${o.title}: ${caption}`)}">
      <line class="axis" x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}"/><line class="axis" x1="${L}" y1="${T}" x2="${L}" y2="${H - B}"/>
      <text class="tick" x="${L - 4}" y="${H - B}" text-anchor="end">0</text><text class="tick" x="${L - 4}" y="${T + 8}" text-anchor="end">${int(top)}</text>
      ${bars}${ticks}
      <text class="axis-label" x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle">${esc(o.x)}</text>
      <text class="axis-label" transform="translate(11 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${esc(o.y)}</text>
    </svg></figure>`;
}

export function modelsPage(root: HTMLElement, live: Live): void {
  let answer: ModelsAnswer | null = null;
  let previous: ModelsAnswer | null = null; // the answer before, for the rates

  // --- the versions, live vs shadow, and the commands -------------------------------------
  const versions = document.createElement("section");
  versions.className = "glass card";
  versions.id = "models-versions";
  versions.innerHTML = `<div class="panel-head"><h2>Versions: live and shadow</h2><span class="hint" id="mv-runtime"></span></div>
    <div class="body">
      <div class="scroll-x"><table><thead><tr><th>model</th><th>role</th><th>version</th><th>source</th><th class="num">accuracy (live, scored)</th><th class="num">signals</th><th>commands</th></tr></thead><tbody id="mv-body"><tr><td colspan="7" class="dim">loading…</td></tr></tbody></table></div>
      <form id="mv-deploy" class="controls deploy-form" aria-label="deploy a model version">
        <label>model <select id="mv-model" name="model"></select></label>
        <label>folder on the engine <input id="mv-dir" name="dir" type="text" size="34" placeholder="/path/written/by/synapse-train" required></label>
        <label>as <select id="mv-mode" name="mode"><option value="shadow">shadow (beside live)</option><option value="live">live (replaces it)</option></select></label>
        <button type="submit" class="btn" id="mv-deploy-btn">Deploy</button>
      </form>
      <p class="dim">Deploy, promote and retire need an admin token. A shadow version runs beside the live one on the same features and is scored the same way; promote makes it live.</p>
      <p id="mv-msg" class="msg" role="status" aria-live="polite"></p>
    </div>`;
  root.appendChild(versions);
  const vBody = versions.querySelector("#mv-body") as HTMLElement;
  const vMsg = versions.querySelector("#mv-msg") as HTMLElement;
  const form = versions.querySelector("#mv-deploy") as HTMLFormElement;
  const modelSel = versions.querySelector("#mv-model") as HTMLSelectElement;
  guard(versions.querySelector("#mv-deploy-btn") as HTMLButtonElement, "models.deploy");
  let pending = false;

  const state = (key: string) => live.topics.get(`model/${key}`) as ModelState | undefined;

  function renderVersions(): void {
    if (!answer) return;
    const rows: string[] = [];
    for (const d of answer.live ?? []) {
      const l = state(d.model);
      rows.push(
        `<tr data-model="${esc(d.model)}" data-role="live" data-actor="model/${esc(d.model)}"><td>${esc(d.model)}</td><td>▶ live</td><td class="num">v${esc(d.version)}</td><td class="src" title="${esc(d.source)}">${esc(d.source)}</td><td class="num" data-field="accuracy">${accuracy(l)} <span class="dim">since start</span></td><td class="num" data-live>${int(l?.signals)}</td><td></td></tr>`,
      );
      const s = (answer.shadow ?? []).find((x) => x.model === d.model);
      if (!s) continue;
      const sh = state(shadowKey(d.model));
      rows.push(
        `<tr data-model="${esc(d.model)}" data-role="shadow" class="shadow-row" data-actor="model/${esc(shadowKey(d.model))}"><td>${esc(d.model)}</td><td>◐ shadow</td><td class="num">v${esc(s.version)}</td><td class="src" title="${esc(s.source)}">${esc(s.source)}</td><td class="num" data-field="accuracy">${compared(sh)}</td><td class="num">${int(sh?.signals)}</td>
        <td><button type="button" class="btn" data-cmd="models.promote" data-model="${esc(d.model)}" title="${esc(titled("models.promote", `make v${s.version} the live ${d.model}`))}"${pending || !may("models.promote") ? " disabled" : ""}>Promote</button> <button type="button" class="btn" data-cmd="models.retire_shadow" data-model="${esc(d.model)}" title="${esc(titled("models.retire_shadow", `stop running v${s.version} in shadow`))}"${pending || !may("models.retire_shadow") ? " disabled" : ""}>Retire</button></td></tr>`,
      );
    }
    put(vBody, rows.join("") || `<tr><td colspan="7" class="dim">no model deployed</td></tr>`);
    if (!modelSel.options.length) modelSel.innerHTML = (answer.live ?? []).map((d) => `<option value="${esc(d.model)}">${esc(d.model)}</option>`).join("");
  }

  /** applied says whether the models query shows what an accepted command asked for. */
  function applied(name: string, args: Record<string, string>, a: ModelsAnswer, before: ModelsAnswer | null): string | null {
    const sh = (a.shadow ?? []).find((x) => x.model === args.model);
    const lv = (a.live ?? []).find((x) => x.model === args.model);
    const src = `${args.dir?.replace(/\/+$/, "")}/${args.model}.json`;
    switch (name) {
      case "models.deploy":
        if (args.mode === "shadow" && sh?.source === src) return `${args.model} v${sh.version} now runs in shadow beside live v${lv?.version ?? "?"}`;
        if (args.mode === "live" && lv?.source === src) return `${args.model} v${lv.version} is now live`;
        return null;
      case "models.promote": {
        const was = (before?.shadow ?? []).find((x) => x.model === args.model);
        return !sh && lv && lv.version === was?.version ? `${args.model} v${lv.version} is now live; no shadow runs` : null;
      }
      case "models.retire_shadow":
        return !sh ? `no ${args.model} runs in shadow now; live stays v${lv?.version ?? "?"}` : null;
    }
    return null;
  }

  async function send(name: string, args: Record<string, string>): Promise<void> {
    pending = true;
    renderVersions();
    say(vMsg, `… ${name} sent`, true);
    const before = answer;
    const res = await command(name, args);
    if (!res.ok) {
      pending = false;
      say(vMsg, describe(name, res), false);
      renderVersions();
      return;
    }
    say(vMsg, `${describe(name, res)} · waiting for the engine to apply it…`, true);
    const end = Date.now() + 10000;
    let done: string | null = null;
    while (!done && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 300));
      await load();
      if (answer) done = applied(name, args, answer, before);
    }
    pending = false;
    say(vMsg, done ? `✓ ${name} applied: ${done}` : `${describe(name, res)}, but not applied within 10 s: the engine's log says why`, !!done);
    renderVersions();
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const dir = (versions.querySelector("#mv-dir") as HTMLInputElement).value.trim();
    const mode = (versions.querySelector("#mv-mode") as HTMLSelectElement).value;
    void send("models.deploy", { model: modelSel.value, dir, mode });
  });
  vBody.addEventListener("click", (e) => {
    const b = (e.target as HTMLElement).closest("button[data-cmd]") as HTMLButtonElement | null;
    if (b && !b.disabled) void send(b.dataset.cmd!, { model: b.dataset.model! });
  });

  // --- the model actors (live topics) -----------------------------------------------------
  const actors = document.createElement("section");
  actors.className = "glass card";
  actors.innerHTML = `<div class="panel-head"><h2>Live model state</h2></div><div class="body"><table><thead><tr><th>model</th><th>state</th><th class="num">requests</th><th class="num">signals</th><th class="num">errors</th><th class="num">accuracy</th><th class="num">latency</th></tr></thead><tbody id="ms"></tbody></table></div>`;
  root.appendChild(actors);

  /** stateText: a model actor is active with a version deployed; the ensemble (its state
   * has no "active") while it publishes signals, by the graph's rate of them (last 5 s). */
  function stateText(key: string, m: ModelState): string {
    if (m.shadow) return "◐ shadow";
    if (key !== "ensemble") return m.active ? "▶ active" : "◦ idle";
    const rate = (live.topics.get("graph") as Topology | undefined)?.nodes.find((n) => n.id === "model/ensemble")?.rate ?? 0;
    return rate > 0 ? `<span title="publishing signals">▶ active · ${num(rate, 1)} signals/s</span>` : `<span title="no signal in the last 5 s">◦ idle</span>`;
  }

  function renderActors(): void {
    const rows: string[] = [];
    for (const [t, m] of [...live.topics].sort()) {
      if (!t.startsWith("model/")) continue;
      if (m.shadow && !m.active) continue; // a shadow actor with no version deployed: nothing to show
      const key = m.key ?? t.slice(6);
      rows.push(
        `<tr data-key="${esc(key)}" data-actor="model/${esc(key)}"><td>${esc(key)}</td><td data-field="state">${stateText(key, m)}</td><td class="num" data-live>${int(m.requests)}</td><td class="num">${int(m.signals)}</td><td class="num">${int(m.errors)}</td><td class="num">${accuracy(m)}</td><td class="num">${m.latency_us ? int(m.latency_us) + " µs" : "—"}</td></tr>`,
      );
    }
    put(actors.querySelector("#ms") as HTMLElement, rows.join(""));
  }
  live.on("model/", () => {
    renderActors();
    renderVersions();
  });
  live.on("graph", renderActors); // the ensemble's rate

  // --- the batcher ------------------------------------------------------------------------
  const batcher = document.createElement("section");
  batcher.className = "glass card";
  batcher.id = "models-batcher";
  batcher.dataset.actor = "batcher onnxruntime";
  batcher.innerHTML = `<div class="panel-head"><h2>Batcher</h2><span class="hint" id="mb-hint"></span></div><div class="body">
    <div class="scroll-x"><table><thead><tr><th>model</th><th class="num" title="rows run per second over the last interval">rows/s</th><th class="num" title="requests received per second over the last interval">requests/s</th><th class="num">requests</th><th class="num">served</th><th class="num">batches</th><th class="num">rows/batch</th><th class="num">mean run</th><th>runs on</th><th class="num">dropped</th><th class="num">failed</th><th class="num">queued</th></tr></thead><tbody id="mb-body" data-live></tbody></table></div>
    <div id="mb-hists"></div></div>`;
  root.appendChild(batcher);

  function renderBatcher(): void {
    if (!answer) return;
    const now = answer.batcher.Models ?? [];
    const dt = previous ? (Date.parse(answer.batcher.Taken) - Date.parse(previous.batcher.Taken)) / 1000 : 0;
    const rate = (m: ModelStats, f: "Rows" | "Requests") => {
      const p = previous?.batcher.Models?.find((x) => x.Key === m.Key);
      return p && dt > 0 ? num((m[f] - p[f]) / dt, 1) : "—";
    };
    put(
      batcher.querySelector("#mb-body") as HTMLElement,
      now
        .map(
          (x) =>
            `<tr data-model="${esc(x.Key)}" data-actor="model/${esc(x.Key)} batcher"><td>${esc(x.Key)}</td><td class="num" data-field="rows_per_s">${rate(x, "Rows")}</td><td class="num" data-field="requests_per_s">${rate(x, "Requests")}</td><td class="num">${int(x.Requests)}</td><td class="num">${int(x.Served)}</td><td class="num" data-field="batches">${int(x.Batches)}</td><td class="num">${x.Batches ? num(x.Rows / x.Batches, 1) : "—"}</td><td class="num">${x.Batches ? num(x.RunTime / x.Batches / 1e3, 0) + " µs" : "—"}</td><td>${esc(x.Provider || "—")}</td><td class="num">${int(x.DroppedDeadline + x.DroppedQueueFull)}</td><td class="num">${int(x.Failed)}</td><td class="num">${int(x.Queued)}</td></tr>`,
        )
        .join(""),
    );
    put(batcher.querySelector("#mb-hint") as HTMLElement, esc(dt > 0 ? `rates over the last ${num(dt, 1)} s` : "rates from the next answer on"));
    put(
      batcher.querySelector("#mb-hists") as HTMLElement,
      now
        .filter((x) => x.BatchRows)
        .map((x) => `<h3>${esc(x.Key)} <span class="dim">v${esc(x.Version || "—")}</span></h3><div class="hists">${HISTOGRAMS.map((o) => barChart(x.Key, x[o.field], o)).join("")}</div>`)
        .join(""),
    );
  }

  async function load(): Promise<void> {
    try {
      const a: ModelsAnswer = await query("models");
      if (!answer || a.batcher.Taken !== answer.batcher.Taken) previous = answer;
      answer = a;
      put(versions.querySelector("#mv-runtime") as HTMLElement, `ONNX Runtime ${esc(a.runtime ?? "—")}`);
      renderVersions();
      renderBatcher();
    } catch (e) {
      if (e instanceof AuthError) window.dispatchEvent(new Event("synapse-auth"));
      say(vMsg, `could not load the models query: ${e instanceof Error ? e.message : e}`, false);
    }
  }
  void load();
  setInterval(() => {
    if (!document.hidden) void load();
  }, 2000);
}
