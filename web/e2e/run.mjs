// End-to-end tests of the Synapse web UI in headless Chromium against a real engine that
// replays the bundled Binance recordings. Run from anywhere: `node web/e2e/run.mjs` (the
// Makefile's `make e2e` builds bin/synapse and installs playwright-core first).
//
// Besides the pages, it drives the trading controls through the real API and log (halt and
// resume an agent, the kill switch, a viewer token's controls disabled and refused by the engine, against a second engine that runs
// with tokens), checks the Portfolio page against the portfolio queries (summary, equity,
// allocation by profile, Monte Carlo, a refused parameter, fills), opens a backtest HTML report
// from `synapse backtest` offline, and measures the neural view's frame rate on every page.
//
// Environment: CHROMIUM (default /usr/bin/chromium), SYNAPSE_BIN (default bin/synapse),
// E2E_ONLY (a regular expression: only the tests it matches), E2E_PORTS (a range, "18400-18499":
// the engines' ports from it, else any free ones),
// E2E_MAX_FRAME_CPU_MS (default 10: the renderer's CPU time per frame that the 300-neuron graph
// adds to a page, asserted on every page), E2E_MIN_FPS (default 50; asserted while the load
// average is below the core count, else reported; 0 never asserts it).
import { chromium } from "playwright-core";
import { spawn, execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, mkdirSync, rmSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir, loadavg, cpus } from "node:os";
import { dirname, join, basename } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..", "..");
const artifacts = join(here, "artifacts");
const bin = process.env.SYNAPSE_BIN ?? join(repo, "bin", "synapse");
const minFPS = Number(process.env.E2E_MIN_FPS ?? 50);
const maxFrameCPU = Number(process.env.E2E_MAX_FRAME_CPU_MS ?? 10);

// topics: the websocket topics each page subscribes to (the neural view's graph first);
// actors: the kinds and IDs of the neurons it emphasises, the others dimmed (none: no dimming)
const PAGES = [
  { path: "/", name: "dashboard", live: true, topics: "graph,engine,model/" },
  { path: "/markets/", name: "markets", live: true, topics: "graph,symbol/,signals,orders,model/", actors: ["feed", "symbol", "stream/MD"] },
  { path: "/datasets/", name: "datasets", live: true, topics: "graph", actors: ["feed", "stream"] },
  { path: "/training/", name: "training", live: true, topics: "graph,training/", actors: ["model"] },
  { path: "/models/", name: "models", live: true, topics: "graph,model/", actors: ["model", "ensemble", "batcher", "runtime"] },
  { path: "/agents/", name: "agents", live: true, topics: "graph,agent/,risk,orders,agent_events", actors: ["agent", "risk", "venue", "stream/ORD"] },
  { path: "/portfolio/", name: "portfolio", live: true, topics: "graph,agent/,portfolio", actors: ["agent", "venue", "stream/ORD"] },
  { path: "/health/", name: "health", live: true, topics: "graph,engine,health" },
];

/** E2E_ONLY (a regular expression) runs only the tests whose names match it. */
const only = process.env.E2E_ONLY ? new RegExp(process.env.E2E_ONLY) : null;
let passed = 0;
let failed = 0;
async function test(name, fn) {
  if (only && !only.test(name)) return;
  const t0 = Date.now();
  try {
    await fn();
    passed++;
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name} (${Date.now() - t0} ms): ${e?.stack ?? e}`);
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

/** listenable answers the port if one can listen on it now (0: any free port), else null. */
function listenable(port) {
  return new Promise((resolve) => {
    const s = createServer();
    s.on("error", () => resolve(null));
    s.listen(port, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** E2E_PORTS ("18400-18499") keeps the engines' ports in a range, on a machine shared with
 * others who have theirs; without it the system picks free ones. */
const portRange = process.env.E2E_PORTS ? process.env.E2E_PORTS.split("-").map(Number) : null;
let nextPort = portRange?.[0];
async function freePort() {
  if (!portRange) return listenable(0);
  for (; nextPort <= portRange[1]; nextPort++) {
    const p = await listenable(nextPort);
    if (p) return nextPort++;
  }
  throw new Error(`no free port left in E2E_PORTS=${process.env.E2E_PORTS}`);
}

/** checkFor polls fn until it returns a truthy value or the deadline passes. */
async function checkFor(what, fn, ms = 10000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${last})`);
}

/** decimal normalises a decimal as shown ("10,000.5", "−3") or sent ("10000.50") for
 * comparing: no grouping, an ASCII minus, no trailing zeros. */
function decimal(s) {
  if (typeof s !== "string") return s;
  let t = s.replace(/[,\s▲▼]/g, "").replace("−", "-");
  if (t.includes(".")) t = t.replace(/\.?0+$/, "");
  return t === "-0" ? "0" : t;
}

/** decimalSum adds decimal strings exactly (BigInt), normalised as decimal() does. */
function decimalSum(list) {
  const scale = Math.max(0, ...list.map((s) => (s.split(".")[1] ?? "").length));
  const n = list.reduce((a, s) => {
    const [i, f = ""] = s.replace("-", "").split(".");
    const v = BigInt(i + f.padEnd(scale, "0"));
    return a + (s.startsWith("-") ? -v : v);
  }, 0n);
  const neg = n < 0n;
  const d = (neg ? -n : n).toString().padStart(scale + 1, "0");
  return decimal((neg ? "-" : "") + d.slice(0, d.length - scale) + (scale ? "." + d.slice(d.length - scale) : ""));
}

/** painted says whether a chart under selector has pixels on one of its canvases. */
function painted(page, selector) {
  return page.$$eval(`${selector} canvas`, (cs) =>
    cs.some((c) => {
      if (!c.width || !c.height) return false;
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) return true;
      return false;
    }),
  );
}

/** REFRESH_WAIT outlasts the Portfolio page's refresh (every 3 s). */
const REFRESH_WAIT = 3500;

// --- the engine -------------------------------------------------------------------------
const port = await freePort();
const dataDir = mkdtempSync(join(tmpdir(), "synapse-e2e-"));
const base = `http://127.0.0.1:${port}`;
let engineLog = "";
const engine = spawn(bin, ["run", "--no-auth", "--http", `127.0.0.1:${port}`, "--data-dir", dataDir, "--speed", "120"], { cwd: repo, stdio: ["ignore", "pipe", "pipe"] });
engine.stdout.on("data", (d) => (engineLog += d));
engine.stderr.on("data", (d) => (engineLog += d));
let engineExited = false;
engine.on("exit", () => (engineExited = true));
function stopEngine() {
  if (!engineExited) engine.kill("SIGTERM");
}
process.on("exit", () => {
  stopEngine();
  rmSync(dataDir, { recursive: true, force: true });
});
/** stopAndWait stops the engine and waits (at most 10 s) for it to exit. */
async function stopAndWait() {
  stopEngine();
  const end = Date.now() + 10000;
  while (!engineExited && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
}

// --- helpers for the trading tests ------------------------------------------------------
const AGENTS = ["ATLAS", "ORION", "NOVA"]; // the built-in agents, in their configured order

/** watchedPage opens a page that records console errors, page errors and failed requests. */
async function watchedPage(ctx) {
  const page = ctx === browser ? await browser.newPage({ viewport: { width: 1400, height: 900 } }) : await ctx.newPage();
  page.errors = [];
  page.on("console", (m) => m.type() === "error" && page.errors.push(m.text()));
  page.on("pageerror", (e) => page.errors.push(e.message));
  return page;
}

/** badge is the state badge text of an agent's card. */
function badge(page, name) {
  return page.$eval(`[data-agent="${name}"] .state-badge`, (e) => e.textContent).catch(() => "");
}

/** agentsByAPI returns the agents query's answer by name. */
async function agentsByAPI(url, headers = {}) {
  const r = await fetch(`${url}/api/v1/queries/agents`, { headers });
  if (!r.ok) throw new Error(`agents query: ${r.status}`);
  return Object.fromEntries((await r.json()).map((a) => [a.name, a]));
}

/** startEngine runs `synapse run` on a free port with its own data dir; with auth it waits
 * for the admin token the engine prints at its first start. */
async function startEngine(args, { auth = false } = {}) {
  const p = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "synapse-e2e-auth-"));
  const url = `http://127.0.0.1:${p}`;
  const proc = spawn(bin, ["run", "--http", `127.0.0.1:${p}`, "--data-dir", dir, ...args], { cwd: repo, stdio: ["ignore", "pipe", "pipe"] });
  const e = { url, proc, log: "", exited: false, token: "" };
  proc.stdout.on("data", (d) => (e.log += d));
  proc.stderr.on("data", (d) => (e.log += d));
  proc.on("exit", () => (e.exited = true));
  e.stop = async () => {
    if (!e.exited) proc.kill("SIGTERM");
    const end = Date.now() + 10000;
    while (!e.exited && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await checkFor(`the second engine to answer ${url}/healthz`, async () => {
      if (e.exited) throw new Error(`engine exited:\n${e.log}`);
      return (await fetch(`${url}/healthz`)).ok;
    }, 30000);
    if (auth) e.token = await checkFor("the admin token on stdout", () => /\?token=([A-Za-z0-9_-]+)/.exec(e.log)?.[1], 10000);
  } catch (err) {
    await e.stop();
    throw err;
  }
  return e;
}

/** createToken makes an API token of a role with the admin token. */
async function createToken(e, name, role) {
  const r = await fetch(`${e.url}/api/v1/tokens`, {
    method: "POST",
    headers: { Authorization: `Bearer ${e.token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ name, role }),
  });
  if (r.status !== 201) throw new Error(`creating a ${role} token: ${r.status} ${await r.text()}`);
  return (await r.json()).token;
}

function run(cmd, args) {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { cwd: repo, maxBuffer: 16 << 20 }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.join(" ")}: ${err.message}\n${stderr}`)) : resolve({ stdout, stderr }))),
  );
}

let browser;
try {
  await checkFor(`the engine to answer ${base}/healthz`, async () => {
    if (engineExited) throw new Error(`engine exited:\n${engineLog}`);
    return (await fetch(`${base}/healthz`)).ok;
  }, 30000);
  mkdirSync(artifacts, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });

  for (const p of PAGES) {
    await test(`page ${p.name}`, async () => {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const errors = [];
      page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
      page.on("pageerror", (e) => errors.push(e.message));
      const sockets = []; // the websocket URLs the page opened
      page.on("websocket", (ws) => sockets.push(new URL(ws.url())));
      try {
        await page.goto(base + p.path);
        const hook = (fn, arg) => page.evaluate(fn, arg);
        await checkFor("the websocket to be live", () => hook(() => window.__synapse.ws() === "live"));
        // the neural view drew the actor graph, symbol and model neurons included
        const kinds = await checkFor("symbol and model neurons drawn", async () => {
          const g = await hook(() => window.__synapse.graph());
          const k = new Set(g.drawnNodes.map((n) => n.kind));
          return k.has("symbol") && k.has("model") && k.has("router") ? k : null;
        });
        assert(kinds.size >= 5, `only ${[...kinds]} kinds drawn`);
        // the page's actors emphasised, every other neuron dimmed (still drawn)
        const drawn = (await hook(() => window.__synapse.graph())).drawnNodes;
        const dimmed = (d) => (p.actors ? !p.actors.includes(d.kind) && !p.actors.includes(d.id) : false);
        const wrong = drawn.filter((d) => d.dim !== dimmed(d));
        assert(wrong.length === 0, `emphasis on ${p.name}: ${wrong.map((d) => `${d.id} ${d.dim ? "dimmed" : "not dimmed"}`)}`);
        assert(!p.actors || drawn.some((d) => d.dim), `nothing dimmed on ${p.name}`);
        if (p.live) {
          await checkFor("live values on the page", () =>
            hook(() => [...document.querySelectorAll("[data-live]")].some((e) => e.textContent.trim() !== "" && e.textContent.trim() !== "—")),
          );
        }
        // hover a symbol neuron: the tooltip names it; click: the detail panel opens
        const n = await checkFor("a symbol neuron under the pointer", async () => {
          const g = await hook(() => window.__synapse.graph());
          const s = g.drawnNodes.find((d) => d.kind === "symbol");
          await page.mouse.move(s.x, s.y);
          await page.waitForTimeout(50);
          const tip = await page.$eval("#tip", (e) => (e.hidden ? "" : e.textContent));
          return tip.includes(s.label) ? s : null;
        });
        // Click where the neuron is now: the layout moves when a new symbol appears mid-replay.
        await checkFor("the detail panel", async () => {
          const g = await hook(() => window.__synapse.graph());
          const s = g.drawnNodes.find((d) => d.id === n.id) ?? g.drawnNodes.find((d) => d.kind === "symbol");
          await page.mouse.click(s.x, s.y);
          await page.waitForTimeout(50);
          return page.$eval("#detail", (e, label) => !e.hidden && e.textContent.includes(label), s.label);
        });
        await page.click("#close-detail");
        await page.mouse.move(5, 5);
        // cut the websocket: the banner says so, then the client reconnects by itself
        const opened = await hook(() => window.__synapse.opened());
        await hook(() => window.__synapse.cut());
        await checkFor("the reconnecting banner", () => page.$eval("#banner", (e) => !e.hidden && e.textContent.includes("reconnecting")), 3000);
        await checkFor("the websocket to reconnect", () => hook((o) => window.__synapse.ws() === "live" && window.__synapse.opened() > o, opened));
        await checkFor("the banner to go", () => page.$eval("#banner", (e) => e.hidden));
        // the page asked for its own topics only, and again on reconnecting
        assert(sockets.length >= 2 && sockets.every((u) => u.pathname === "/ws" && u.searchParams.get("topics") === p.topics), `websockets opened: ${sockets.map((u) => u.search)}, want ?topics=${p.topics}`);
        await page.waitForTimeout(300);
        await page.screenshot({ path: join(artifacts, `${p.name}.png`) });
        assert(errors.length === 0, `console errors: ${errors.join(" | ")}`);
      } finally {
        await page.close();
      }
    });
  }

  await test("health page: the actor tree, the lags and the stage percentiles are the engine's", async () => {
    const page = await watchedPage(browser);
    try {
      await page.goto(base + "/health/");
      // The page shows the engine's "health" snapshot (one a second); the health query answers
      // the one it holds now, and the graph query the graph snapshot it was built from. They
      // are compared when all three are the same snapshot (read in one go on the page).
      const { shown, api, graph } = await checkFor(
        "the page, the health query and the graph on the same snapshot",
        async () => {
          const shown = await page.evaluate(() => ({
            time: document.getElementById("content").dataset.healthTime,
            window: document.getElementById("hl-stages-title").dataset.window,
            title: document.getElementById("hl-stages-title").textContent,
            tree: [...document.querySelectorAll("#hl-tree tr[data-actor]")].map((r) => ({ id: r.dataset.actor, parent: r.dataset.parent, restarts: r.dataset.restarts, depth: r.dataset.depth })),
            lags: [...document.querySelectorAll("#hl-streams tr[data-consumer]")].map((r) => `${r.dataset.stream}/${r.dataset.consumer}=${r.dataset.lag}`),
            stages: [...document.querySelectorAll("#hl-stages tr[data-stage]")].map((r) => ({
              stage: r.dataset.stage,
              count: r.querySelector("[data-count]").dataset.count,
              total: r.querySelector("[data-total]").dataset.total,
              us: [...r.querySelectorAll("[data-us]")].map((e) => e.dataset.us),
              text: [...r.querySelectorAll("[data-us]")].map((e) => e.textContent),
            })),
          }));
          const api = await (await fetch(`${base}/api/v1/queries/health`)).json();
          const graph = await (await fetch(`${base}/api/v1/queries/state?topic=graph`)).json();
          if (!api || String(api.time) !== shown.time || graph.time !== api.time) return null;
          if (!api.stages.some((s) => s.stage === "tick_to_feature" && s.count > 0)) return null; // the replay has closed a candle
          return { shown, api, graph };
        },
        30000,
      );
      // The tree: every neuron of the graph, each under a parent that is in the tree, down from the engine.
      const ids = new Set(shown.tree.map((a) => a.id));
      for (const n of graph.nodes) assert(ids.has(n.id), `graph node ${n.id} is not in the actor tree`);
      for (const a of shown.tree) assert(a.id === "engine" ? a.parent === "" : ids.has(a.parent), `${a.id}: parent ${a.parent} not in the tree`);
      assert(shown.tree.length === api.actors.length, `tree rows ${shown.tree.length}, the engine's actors ${api.actors.length}`);
      for (const a of api.actors) {
        const row = shown.tree.find((r) => r.id === a.id);
        const depth = a.queues.reduce((n, q) => n + q.depth, 0);
        assert(row && row.restarts === (a.restarts === null ? "" : String(a.restarts)) && row.depth === String(depth), `${a.id}: shown ${JSON.stringify(row)}, engine restarts ${a.restarts} depth ${depth}`);
      }
      for (const kind of ["symbol", "model", "batcher", "agent", "risk", "venue", "gateway"]) {
        assert(api.actors.some((a) => a.kind === kind && a.queues.length > 0), `no queue shown for a ${kind} actor`);
      }
      // The lags: one row per consumer, as the engine answers.
      const lags = api.streams.flatMap((s) => s.consumers.map((c) => `${s.name}/${c.consumer}=${c.lag}`));
      assert(JSON.stringify(shown.lags) === JSON.stringify(lags), `lags shown ${shown.lags}, engine ${lags}`);
      assert(lags.some((l) => l.startsWith("MD/router=")) && lags.some((l) => l.startsWith("CMD/commands=")), `lags ${lags}`);
      // The percentiles: the engine's numbers over the window it names (the last minute; the
      // engine's age while younger), and a figure wherever the stage has a count in it.
      assert(api.stages_window_s > 0 && api.stages_window_s <= 62, `stages window ${api.stages_window_s} s, want at most a minute`);
      assert(shown.window === String(api.stages_window_s) && shown.title.includes(`last ${Math.round(api.stages_window_s)} s`), `the latency panel says ${shown.title} (${shown.window}), the engine's window is ${api.stages_window_s} s`);
      for (const s of api.stages) {
        const row = shown.stages.find((r) => r.stage === s.stage);
        const us = [s.p50_us, s.p90_us, s.p99_us].map((v) => (v === null ? "" : String(v)));
        assert(s.count <= s.total, `${s.stage}: ${s.count} in the window of ${s.total} in all`);
        assert(row && row.count === String(s.count) && row.total === String(s.total) && JSON.stringify(row.us) === JSON.stringify(us), `${s.stage}: shown ${JSON.stringify(row)}, engine ${JSON.stringify(s)}`);
        if (s.count > 0) assert(row.text.every((t) => /^[\d.,]+ (µs|ms|s)$/.test(t)), `${s.stage}: percentiles shown as ${row.text}`);
      }
      await page.screenshot({ path: join(artifacts, "health-tree.png"), fullPage: true });
      assert(page.errors.length === 0, `console errors: ${page.errors.join(" | ")}`);
    } finally {
      await page.close();
    }
  });

  await test("datasets page: every replayed symbol with the datasets query's counts, time range, gaps and bad lines", async () => {
    const page = await watchedPage(browser);
    try {
      await page.goto(base + "/datasets/");
      const symbols = await (await fetch(`${base}/api/v1/queries/symbols`)).json();
      assert(symbols.length > 0, "the engine routes no symbol");
      // The query as the page's own code sends it (its cookie), then the page's table read at
      // once: the engine keeps an answer 3 s and the page asks every 2 s, so they meet.
      const asked = () =>
        page.evaluate(async () => {
          const r = await fetch("/api/v1/queries/datasets", { credentials: "same-origin" });
          if (!r.ok) throw new Error(`datasets query: ${r.status}`);
          return r.json();
        });
      const shown = () =>
        page.evaluate(() => ({
          asOf: document.querySelector("#ds-symbols").dataset.asOf ?? "",
          rows: [...document.querySelectorAll("#ds-symbols-body tr[data-subject]")].map((tr) => ({
            subject: tr.dataset.subject,
            venue: tr.dataset.venue,
            symbol: tr.dataset.symbol,
            count: tr.querySelector('[data-field="count"]').textContent,
            first: tr.querySelector('[data-field="first"]').textContent,
            last: tr.querySelector('[data-field="last"]').textContent,
            gaps: tr.querySelector('[data-field="gaps"]')?.textContent ?? null,
            refused: tr.querySelector('[data-field="refused"]')?.textContent ?? null,
          })),
          streams: Object.fromEntries([...document.querySelectorAll("#ds-streams-body tr[data-stream]")].map((tr) => [tr.dataset.stream, tr.querySelector('[data-field="messages"]').textContent])),
          files: [...document.querySelectorAll("#ds-replay-body tr[data-file]")].map((tr) => [tr.dataset.file, tr.querySelector('[data-field="malformed"]').textContent]),
        }));
      const [rep, ui] = await checkFor("the page to show the query's answer", async () => {
        const r = await asked();
        const u = await shown();
        return u.asOf === r.as_of && u.rows.length ? [r, u] : null;
      }, 20000);
      const utc = (ms) => new Date(ms).toISOString().replace("T", " ").slice(0, 19) + " UTC";
      const int = (n) => n.toLocaleString("en-US");
      const bySubject = Object.fromEntries(ui.rows.map((r) => [r.subject, r]));
      for (const [venue, symbol] of symbols) {
        const s = rep.symbols.find((x) => x.venue === venue && x.symbol === symbol);
        assert(s, `the datasets query lacks ${venue} ${symbol} (has ${rep.symbols.map((x) => x.symbol)})`);
        assert(s.datasets.some((d) => d.stream === "MD"), `${symbol}: no MD subject`);
        s.datasets.forEach((d, i) => {
          const row = bySubject[d.subject];
          assert(row && row.venue === venue && row.symbol === symbol, `no row for ${d.subject}`);
          assert(row.count === int(d.count), `${d.subject}: the page says ${row.count}, the query ${d.count}`);
          assert(row.first === utc(d.first_time) && row.first.startsWith(d.first_time_iso.slice(0, 19).replace("T", " ")), `${d.subject}: first ${row.first}, query ${d.first_time_iso}`);
          assert(row.last === utc(d.last_time) && row.last.startsWith(d.last_time_iso.slice(0, 19).replace("T", " ")), `${d.subject}: last ${row.last}, query ${d.last_time_iso}`);
          if (i > 0 || !s.actor) return;
          const a = s.actor;
          if (a.gaps) assert(row.gaps.includes("⚠") && row.gaps.includes(`${int(a.gaps)} hole`) && row.gaps.includes(utc(a.largest_gap_start)), `${symbol} gaps: ${row.gaps} (query ${a.gaps}, largest ${a.largest_gap} from ${a.largest_gap_start})`);
          else if (a.candles) assert(row.gaps.includes("✓ none"), `${symbol} gaps: ${row.gaps}, the query says none`);
          const refused = a.malformed + a.duplicates + a.out_of_order;
          assert(refused ? row.refused.includes("⚠") && (!a.malformed || row.refused.includes(`${int(a.malformed)} malformed`)) : row.refused.includes("✓ none"), `${symbol} refused: ${row.refused} (query ${JSON.stringify(a)})`);
          assert(row.refused.includes(`${int(a.events)} event`), `${symbol}: ${row.refused}, query ${a.events} events`);
        });
      }
      for (const st of rep.streams) assert(ui.streams[st.name] === int(st.messages), `stream ${st.name}: page ${ui.streams[st.name]}, query ${st.messages}`);
      assert(rep.replay && rep.replay.files.length === ui.files.length && rep.replay.files.length > 0, `replayed files: page ${ui.files.length}, query ${JSON.stringify(rep.replay)}`);
      for (const [i, [src, bad]] of ui.files.entries()) {
        const f = rep.replay.files[i];
        assert(src === f.source && (f.malformed ? bad.includes(`⚠ ${int(f.malformed)} malformed line`) : bad.includes("✓ none")), `${src}: bad lines ${bad}, query ${f.malformed}`);
      }
      console.log(`     datasets: ${rep.symbols.length} symbol(s), ${ui.rows.length} subject row(s), MD ${rep.streams[0].messages} messages, ${rep.replay.files.length} file(s) replayed`);
      await page.screenshot({ path: join(artifacts, "datasets-page.png"), fullPage: true });
      assert(page.errors.length === 0, `console errors: ${page.errors.join(" | ")}`);
    } finally {
      await page.close();
    }
  });

  await test("agents page: a card per agent, the risk gate and the orders", async () => {
    const page = await watchedPage(browser);
    try {
      await page.goto(base + "/agents/");
      for (const name of AGENTS) await checkFor(`the ${name} card to say ACTIVE`, async () => (await badge(page, name)).includes("ACTIVE"));
      const names = await page.$$eval(".agent[data-agent]", (els) => els.map((e) => e.dataset.agent));
      assert(JSON.stringify(names) === JSON.stringify(AGENTS), `cards in order ${names}, want ${AGENTS}`);
      for (const name of AGENTS) {
        const card = `[data-agent="${name}"]`;
        const figs = await page.$$eval(`${card} .fig`, (els) => Object.fromEntries(els.map((e) => [e.querySelector(".fig-label").textContent, e.querySelector(".fig-value").textContent])));
        for (const f of ["equity", "return", "realized", "unrealized", "fees", "drawdown", "max drawdown"]) assert(figs[f] && figs[f] !== "—", `${name}: figure ${f} is ${figs[f]}`);
        const counts = await page.$eval(`${card} .counts`, (e) => e.textContent);
        for (const c of ["signals", "intents", "fills", "rejected"]) assert(counts.includes(c), `${name}: no ${c} count in ${counts}`);
        await checkFor(`${name}'s equity curve drawn`, () => page.$$eval(`${card} .chart canvas`, (cs) => cs.some((c) => c.width > 0 && c.height > 0)));
        const enabled = await page.$$eval(`${card} button[data-cmd]`, (bs) => Object.fromEntries(bs.map((b) => [b.dataset.cmd, !b.disabled])));
        assert(enabled["agents.halt"] && enabled["agents.stop"] && !enabled["agents.resume"] && !enabled["agents.start"], `${name} ACTIVE: buttons ${JSON.stringify(enabled)}`);
      }
      await checkFor("the risk gate panel", () => page.$eval("#ks-state", (e) => e.textContent.includes("kill switch off")));
      assert(await page.$eval("#ks-off", (b) => b.disabled), "kill switch off is enabled while it is off");
      // the Orders table holds at least what the orders query holds (more may have come since)
      const apiOrders = (await (await fetch(`${base}/api/v1/queries/orders`)).json()) ?? [];
      const rows = await checkFor("the orders table to list the order events", async () => {
        const n = await page.$$eval("#orders-body tr:not(.empty)", (trs) => trs.length);
        return n >= Math.min(apiOrders.length, 200) ? n || "none" : null;
      });
      console.log(`     orders table: ${rows} event(s); the orders query had ${apiOrders.length}`);
      await page.screenshot({ path: join(artifacts, "agents-cards.png") });
      assert(page.errors.length === 0, `console errors: ${page.errors.join(" | ")}`);
    } finally {
      await page.close();
    }
  });

  await test("agents page: hovering ATLAS's card highlights its neuron; hovering the neuron marks the card", async () => {
    const page = await watchedPage(browser);
    try {
      await page.goto(base + "/agents/");
      await checkFor("the ATLAS card", () => page.$('[data-agent="ATLAS"]'));
      await checkFor("the agent neurons", async () => (await page.evaluate(() => window.__synapse.graph())).drawnNodes.some((d) => d.id === "agent/ATLAS"));
      const lit = async () => (await page.evaluate(() => window.__synapse.graph())).drawnNodes.filter((d) => d.lit).map((d) => d.id);
      assert((await lit()).length === 0, `highlighted before any hover: ${await lit()}`);
      await page.hover('[data-agent="ATLAS"] .panel-head h2');
      await checkFor("ATLAS's neuron highlighted", async () => JSON.stringify(await lit()) === JSON.stringify(["agent/ATLAS"]), 3000);
      // a line from the card to the neuron
      const line = await checkFor("the line to ATLAS's neuron", () => page.$eval(".wire line", (l) => ({ to: l.dataset.to, x: Number(l.getAttribute("x2")), y: Number(l.getAttribute("y2")), x1: Number(l.getAttribute("x1")) })).catch(() => null), 3000);
      const atlas = (await page.evaluate(() => window.__synapse.graph())).drawnNodes.find((d) => d.id === "agent/ATLAS");
      const card = await page.locator('[data-agent="ATLAS"]').boundingBox();
      assert(line.to === "agent/ATLAS" && Math.abs(line.x - atlas.x) < 2 && Math.abs(line.y - atlas.y) < 2 && Math.abs(line.x1 - card.x) < 8, `line ${JSON.stringify(line)}, neuron at ${atlas.x},${atlas.y}, card from x ${card.x}`);
      await page.screenshot({ path: join(artifacts, "agents-card-hovered.png") });
      await page.hover("#risk .panel-head h2");
      await checkFor("the risk gate's neuron highlighted instead", async () => JSON.stringify(await lit()) === JSON.stringify(["risk"]), 3000);
      await page.mouse.move(5, 5); // off the panels: nothing highlighted, no line
      await checkFor("no neuron highlighted", async () => (await lit()).length === 0, 3000);
      await checkFor("the line gone", async () => (await page.$$(".wire line")).length === 0, 3000);
      // the other way: the pointer on ATLAS's neuron outlines its card (and its rows), not NOVA's
      const outline = (sel) => page.$eval(sel, (e) => getComputedStyle(e).outlineStyle);
      await checkFor("ATLAS's card outlined", async () => {
        const n = (await page.evaluate(() => window.__synapse.graph())).drawnNodes.find((d) => d.id === "agent/ATLAS");
        await page.mouse.move(n.x, n.y);
        return (await outline('[data-agent="ATLAS"]')) === "solid";
      }, 5000);
      assert((await outline('[data-agent="NOVA"]')) === "none", "NOVA's card is outlined too");
      await page.screenshot({ path: join(artifacts, "agents-linked.png") });
      await page.mouse.move(5, 5);
      await checkFor("the outline gone", async () => (await outline('[data-agent="ATLAS"]')) === "none", 3000);
      assert(page.errors.length === 0, `console errors: ${page.errors.join(" | ")}`);
    } finally {
      await page.close();
    }
  });

  await test("halt and resume ATLAS from its card: through the API, the log and back", async () => {
    const page = await watchedPage(browser);
    try {
      await page.goto(base + "/agents/");
      await checkFor("ATLAS ACTIVE", async () => (await badge(page, "ATLAS")).includes("ACTIVE"));
      const card = '[data-agent="ATLAS"]';
      await page.click(`${card} button[data-cmd="agents.halt"]`);
      await checkFor("the command accepted", () => page.$eval(`${card} .msg`, (e) => /agents\.halt accepted \(CMD seq \d+\)/.test(e.textContent)));
      await checkFor("ATLAS HALTED on its card", async () => (await badge(page, "ATLAS")).includes("HALTED"));
      const reason = await page.$eval(`${card} .reason`, (e) => (e.hidden ? "" : e.textContent));
      assert(reason.includes("agents.halt"), `reason: ${reason}`);
      // the desk applied it from the CMD stream and recorded the state change: the engine says so
      assert((await agentsByAPI(base)).ATLAS.state === "HALTED", "the agents query does not say HALTED");
      await checkFor("the state change listed", () => page.$eval("#agent-events", (e) => /ATLAS\s*ACTIVE → HALTED/.test(e.textContent)));
      const enabled = await page.$$eval(`${card} button[data-cmd]`, (bs) => Object.fromEntries(bs.map((b) => [b.dataset.cmd, !b.disabled])));
      assert(!enabled["agents.halt"] && enabled["agents.resume"], `HALTED: buttons ${JSON.stringify(enabled)}`);
      await page.screenshot({ path: join(artifacts, "agents-halted.png") });
      await page.click(`${card} button[data-cmd="agents.resume"]`);
      await checkFor("ATLAS ACTIVE again", async () => (await badge(page, "ATLAS")).includes("ACTIVE"));
      assert((await agentsByAPI(base)).ATLAS.state === "ACTIVE", "the agents query does not say ACTIVE");
      const resumed = await page.$eval(`${card} .reason`, (e) => e.textContent);
      assert(resumed.includes("agents.resume"), `reason after resume: ${resumed}`);
      assert(page.errors.length === 0, `console errors: ${page.errors.join(" | ")}`);
    } finally {
      await page.close();
    }
  });

  await test("kill switch on with a reason, then off", async () => {
    const page = await watchedPage(browser);
    try {
      await page.goto(base + "/agents/");
      await checkFor("the kill switch state", () => page.$eval("#ks-state", (e) => e.textContent.includes("kill switch off")));
      await page.click("#ks-on");
      await page.fill("#ks-reason", "e2e drill");
      await page.click("#ks-confirm");
      await checkFor("the risk panel to say ON", () => page.$eval("#ks-state", (e) => e.textContent.includes("KILL SWITCH ON")));
      for (const name of AGENTS) {
        await checkFor(`${name} HALTED by the kill switch`, async () => (await badge(page, name)).includes("HALTED"));
        const reason = await page.$eval(`[data-agent="${name}"] .reason`, (e) => e.textContent);
        assert(reason.includes("kill switch") && reason.includes("e2e drill"), `${name} reason: ${reason}`);
      }
      const risk = await (await fetch(`${base}/api/v1/queries/risk`)).json();
      assert(risk.gate.kill_switch === true, `risk query: ${JSON.stringify(risk)}`);
      assert(await page.$eval("#ks-on", (b) => b.disabled), "kill switch on is enabled while it is on");
      await page.screenshot({ path: join(artifacts, "agents-killswitch.png") });
      await page.click("#ks-off");
      await checkFor("the risk panel to say off", () => page.$eval("#ks-state", (e) => e.textContent.includes("kill switch off")));
      // the agents stay HALTED until resumed: resume them from their cards
      for (const name of AGENTS) {
        assert((await badge(page, name)).includes("HALTED"), `${name} is not HALTED after the kill switch went off`);
        await page.click(`[data-agent="${name}"] button[data-cmd="agents.resume"]`);
        await checkFor(`${name} ACTIVE again`, async () => (await badge(page, name)).includes("ACTIVE"));
      }
      assert(page.errors.length === 0, `console errors: ${page.errors.join(" | ")}`);
    } finally {
      await page.close();
    }
  });

  await test("the trading tier in the neural view; an agent neuron opens its card", async () => {
    const page = await watchedPage(browser);
    try {
      await page.goto(base + "/");
      const legend = await page.$eval(".legend", (e) => e.textContent);
      for (const k of ["agent", "risk gate", "venue", "ORD"]) assert(legend.includes(k), `legend has no ${k}: ${legend}`);
      const g = await checkFor("agent, risk, venue and ORD neurons drawn", async () => {
        const g = await page.evaluate(() => window.__synapse.graph());
        const k = new Set(g.drawnNodes.map((n) => n.kind));
        return k.has("agent") && k.has("risk") && k.has("venue") && g.drawnNodes.some((n) => n.id === "stream/ORD") ? g : null;
      });
      const agents = g.drawnNodes.filter((n) => n.kind === "agent").map((n) => n.label).sort();
      assert(JSON.stringify(agents) === JSON.stringify([...AGENTS].sort()), `agent neurons ${agents}`);
      // click where the neuron is now (the layout moves when a neuron appears)
      await checkFor("the Agents page focused on ATLAS", async () => {
        if (!page.url().includes("/agents/")) {
          const n = (await page.evaluate(() => window.__synapse.graph())).drawnNodes.find((d) => d.id === "agent/ATLAS");
          await page.mouse.click(n.x, n.y);
          await page.waitForTimeout(100);
        }
        return page.url().endsWith("/agents/#agent=ATLAS") && (await page.$eval('[data-agent="ATLAS"]', (e) => e.classList.contains("focused")).catch(() => false));
      });
      // on the Agents page itself another agent's neuron focuses its card without leaving
      await checkFor("NOVA focused", async () => {
        const n = (await page.evaluate(() => window.__synapse.graph())).drawnNodes.find((d) => d.id === "agent/NOVA");
        await page.mouse.click(n.x, n.y);
        await page.waitForTimeout(100);
        return page.$eval('[data-agent="NOVA"]', (e) => e.classList.contains("focused"));
      });
      assert(page.url().endsWith("/agents/#agent=NOVA"), `url ${page.url()}`);
      await checkFor("NOVA's card scrolled into view", () => page.$eval('[data-agent="NOVA"]', (e) => {
        const r = e.getBoundingClientRect();
        return r.top >= 0 && r.top < window.innerHeight / 2;
      }), 5000);
      assert(!(await page.$eval('[data-agent="ATLAS"]', (e) => e.classList.contains("focused"))), "ATLAS still focused");
      await page.screenshot({ path: join(artifacts, "agents-focused.png") });
      assert(page.errors.length === 0, `console errors: ${page.errors.join(" | ")}`);
    } finally {
      await page.close();
    }
  });

  await test("the neuron detail leaves the graph and its fit button uncovered (1600 px)", async () => {
    const page = await watchedPage(await browser.newContext({ viewport: { width: 1600, height: 900 } }));
    try {
      await page.goto(base + "/");
      const hook = () => page.evaluate(() => window.__synapse.graph());
      await checkFor("the trading tier drawn", async () => (await hook()).drawnNodes.some((n) => n.kind === "risk"));
      await checkFor("the router's detail open", async () => {
        const r = (await hook()).drawnNodes.find((n) => n.id === "router");
        await page.mouse.click(r.x, r.y);
        return page.$eval("#detail", (e) => !e.hidden && e.textContent.includes("router"));
      });
      // every agent, risk and venue neuron in the canvas, left of the panel, and the canvas under it
      const uncovered = () =>
        page.evaluate(() => {
          const d = document.getElementById("detail").getBoundingClientRect();
          const c = document.getElementById("net").getBoundingClientRect();
          const tier = window.__synapse.graph().drawnNodes.filter((n) => ["agent", "risk", "venue"].includes(n.kind));
          const bad = tier.filter((n) => !(n.x + n.r < d.left && n.x >= c.left && n.x <= c.right && n.y >= c.top && n.y <= c.bottom && document.elementFromPoint(n.x, n.y)?.id === "net"));
          return tier.length >= 5 && bad.length === 0 ? true : `${tier.length} trading-tier neurons, covered or out of view: ${bad.map((n) => `${n.id} at ${Math.round(n.x)},${Math.round(n.y)}`)}; panel from x ${Math.round(d.left)}`;
        });
      await checkFor("the trading tier left of the detail", async () => (await uncovered()) === true, 3000).catch(async (e) => {
        throw new Error(`${e.message}: ${await uncovered()}`);
      });
      await page.click("#fit", { timeout: 2000 }); // not covered: Playwright clicks only what the pointer reaches
      assert((await uncovered()) === true, `after fit: ${await uncovered()}`);
      // a neuron of the tier is clicked while the panel is open: the panel shows it
      const risk = (await hook()).drawnNodes.find((n) => n.kind === "risk");
      await page.mouse.click(risk.x, risk.y);
      await checkFor("the risk gate's detail", () => page.$eval("#detail", (e) => e.textContent.includes("risk gate")), 3000);
      await page.screenshot({ path: join(artifacts, "detail-open-1600.png") });
      await page.click("#close-detail");
      assert(!(await page.evaluate(() => document.body.classList.contains("detail-open"))), "the page still keeps room for a closed detail");
      assert(page.errors.length === 0, `console errors: ${page.errors.join(" | ")}`);
    } finally {
      await page.context().close();
    }
  });

  await test("a viewer token sees the trading controls disabled, naming the role they need; a trader's are enabled and halt", async () => {
    const e = await startEngine(["--no-models", "--speed", "120"], { auth: true });
    const ctxs = [];
    try {
      const viewer = await createToken(e, "e2e-viewer", "viewer");
      const trader = await createToken(e, "e2e-trader", "trader");
      const vctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      ctxs.push(vctx);
      const page = await watchedPage(vctx);
      await page.goto(`${e.url}/agents/?token=${viewer}`); // sets the cookie, then reloads without it
      assert(!page.url().includes("token="), `the token stayed in the URL: ${page.url()}`);
      await checkFor("ATLAS ACTIVE", async () => (await badge(page, "ATLAS")).includes("ACTIVE"));
      assert((await page.textContent("#who")) === "e2e-viewer · viewer", `the header says ${await page.textContent("#who")}`);
      // every command control disabled, its title naming the role it needs
      const controls = await page.$$eval('[data-agent="ATLAS"] button[data-cmd], #ks-on, #ks-off, #cancel-all', (bs) => bs.map((b) => ({ id: b.id || b.dataset.cmd, disabled: b.disabled, title: b.title })));
      assert(controls.length === 8, `controls: ${JSON.stringify(controls)}`);
      for (const c of controls) assert(c.disabled && c.title.includes("needs the trader role; e2e-viewer has the viewer role"), `viewer: ${JSON.stringify(c)}`);
      await page.waitForTimeout(500);
      assert((await page.$eval('[data-agent="ATLAS"] button[data-cmd="agents.halt"]', (b) => b.disabled)), "the halt button was enabled by an update");
      // the engine refuses the command anyway: the page's own request with its cookie is a 403
      const refused = await page.evaluate(async () => {
        const r = await fetch("/api/v1/commands/agents.halt", { method: "POST", headers: { "Content-Type": "application/json" }, body: '{"agent":"ATLAS"}' });
        return `${r.status} ${(await r.json()).error}`;
      });
      assert(refused.startsWith("403") && refused.includes("needs trader"), `the engine answered a viewer's halt with ${refused}`);
      assert((await agentsByAPI(e.url, { Authorization: `Bearer ${e.token}` })).ATLAS.state === "ACTIVE", "the engine halted ATLAS for a viewer");
      await page.screenshot({ path: join(artifacts, "agents-viewer-disabled.png") });
      // the Models page: deploying needs admin
      await page.goto(`${e.url}/models/`);
      await page.waitForSelector("#mv-deploy-btn", { timeout: 10000 }); // the page builds its panels once its script has run
      assert(await page.$eval("#mv-deploy-btn", (b) => b.disabled && b.title.includes("needs the admin role")), "the viewer's deploy button is enabled");
      // expected: the refused halt's 403, and the models query's 404 (no models: --no-models)
      const unexpected = (errors) => errors.filter((x) => !x.includes("status of 403") && !x.includes("status of 404"));
      assert(unexpected(page.errors).length === 0, `console errors: ${page.errors.join(" | ")}`);
      // a trader's token: the controls enabled (deploying still needs admin), and halt halts
      const tctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      ctxs.push(tctx);
      const tp = await watchedPage(tctx);
      await tp.goto(`${e.url}/agents/?token=${trader}`);
      await checkFor("ATLAS ACTIVE", async () => (await badge(tp, "ATLAS")).includes("ACTIVE"));
      const halt = await tp.$eval('[data-agent="ATLAS"] button[data-cmd="agents.halt"]', (b) => ({ disabled: b.disabled, title: b.title }));
      assert(!halt.disabled && !halt.title.includes("needs"), `trader's halt button: ${JSON.stringify(halt)}`);
      assert(!(await tp.$eval("#ks-on", (b) => b.disabled)), "the trader's kill switch button is disabled");
      await tp.click('[data-agent="ATLAS"] button[data-cmd="agents.halt"]');
      await checkFor("ATLAS HALTED by the trader", async () => (await badge(tp, "ATLAS")).includes("HALTED"));
      const reason = await tp.$eval('[data-agent="ATLAS"] .reason', (x) => x.textContent);
      assert(reason.includes("by e2e-trader"), `reason: ${reason}`);
      await tp.goto(`${e.url}/models/`);
      await tp.waitForSelector("#mv-deploy-btn", { timeout: 10000 });
      assert(await tp.$eval("#mv-deploy-btn", (b) => b.disabled && b.title.includes("needs the admin role; e2e-trader has the trader role")), "the trader's deploy button is enabled");
      assert(unexpected(tp.errors).length === 0, `console errors: ${tp.errors.join(" | ")}`);
    } catch (err) {
      throw new Error(`${err.message}\nsecond engine log (tail):\n${e.log.slice(-2000)}`);
    } finally {
      for (const c of ctxs) await c.close();
      await e.stop();
    }
  });

  await test("training page: a run started from the form trains to done, its curves and metrics match the engine's, it deploys in shadow", async () => {
    const e = await startEngine(["--speed", "120"], { auth: true });
    const out = mkdtempSync(join(tmpdir(), "synapse-e2e-train-"));
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 1400 } });
    const auth = { Authorization: `Bearer ${e.token}` };
    try {
      const page = await watchedPage(ctx);
      await page.goto(`${e.url}/training/?token=${e.token}`); // the admin token's cookie
      await checkFor("the runs panel", () => page.$eval("#tr-count", (x) => x.textContent.startsWith("0 runs")));
      // a file the engine cannot read: refused, the field named and marked, nothing queued
      await page.fill("#tr-data", "streams/recordings/no-such-file.csv");
      await page.fill("#tr-out", join(out, "direction"));
      await page.fill("#tr-epochs", "3");
      await page.fill("#tr-version", "e2e");
      await page.click("#tr-start");
      const refused = await checkFor("the refusal", () => page.$eval("#tr-msg.error", (m) => m.textContent).catch(() => ""));
      assert(refused.includes("400") && refused.includes("data[0]"), `refusal: ${refused}`);
      assert(await page.$eval("#tr-data", (x) => x.getAttribute("aria-invalid") === "true"), "the data field is not marked invalid");
      // the bundled day, 3 epochs at most
      await page.fill("#tr-data", "streams/recordings/ETHUSDT-1m-2022-08-14.csv.gz");
      await page.click("#tr-start");
      const accepted = await checkFor("the acceptance", () => page.$eval("#tr-msg.ok", (m) => (m.textContent.includes("accepted") ? m.textContent : "")).catch(() => ""));
      const id = /run (\S+)/.exec(accepted)?.[1];
      assert(id, `no run id in ${accepted}`);
      await checkFor("the run done on the page", () => page.$eval(`[data-run="${id}"]`, (x) => x.dataset.state === "done").catch(() => false), 60000);
      const q = await (await fetch(`${e.url}/api/v1/queries/training`, { headers: auth })).json();
      const run = q.runs.find((r) => r.id === id);
      assert(run && run.state === "done" && run.epoch >= 1 && run.epoch <= 3 && run.max_epochs === 3, `the engine's run: ${JSON.stringify(run)}`);
      const shown = await page.$eval(`[data-run="${id}"]`, (x) => ({
        text: x.querySelector(".tr-progress-text").textContent,
        bar: [x.querySelector("progress").value, x.querySelector("progress").max],
        series: x.querySelector(".tr-chart").dataset.series,
        accuracy: x.querySelector('[data-metric="accuracy"]')?.textContent ?? "",
        head: x.querySelector(".tr-run-head").textContent,
      }));
      assert(shown.series === `${run.epoch},${run.epoch},${run.epoch}`, `curves drawn with ${shown.series} points, the run has ${run.epoch} epochs`);
      assert(shown.text.includes(`epoch ${run.epoch} / 3`) && shown.bar[0] === run.epoch && shown.bar[1] === 3, `progress ${shown.text} ${shown.bar}`);
      assert(shown.text.includes(`${run.rows.fit.toLocaleString("en-US")} fit`), `rows: ${shown.text}`);
      const acc = run.metrics.accuracy.toPrecision(4), base = run.baseline_metrics.accuracy.toPrecision(4);
      const better = run.metrics.accuracy > run.baseline_metrics.accuracy ? "✓ model better" : run.metrics.accuracy < run.baseline_metrics.accuracy ? "✗ baseline better" : "= tie";
      assert(shown.accuracy.includes(acc) && shown.accuracy.includes(base) && shown.accuracy.includes(better), `accuracy row ${shown.accuracy}, want ${acc} vs ${base}: ${better}`);
      assert(shown.head.includes("✓ done") && shown.head.includes("ve2e"), `head: ${shown.head}`);
      await page.screenshot({ path: join(artifacts, "training-run.png"), fullPage: true });
      // deploy it in shadow from the run's card: the engine serves it
      await page.click(`[data-run="${id}"] .tr-deploy`);
      const deployed = await checkFor("the deployment's answer", () => page.$eval(`[data-run="${id}"] .tr-deploy-msg.ok`, (m) => m.textContent).catch(() => ""));
      assert(deployed.includes("models.deploy accepted"), `deploy: ${deployed}`);
      await checkFor("direction ve2e in shadow", async () => {
        const m = await (await fetch(`${e.url}/api/v1/queries/models`, { headers: auth })).json();
        return (m.shadow ?? []).some((d) => d.model === "direction" && d.version === "e2e");
      });
      await checkFor("the shadow's curves on the page", () => page.$eval('[data-deployed="direction/shadow"] .tr-chart', (x, n) => x.dataset.series === `${n},${n},${n}`, run.epoch).catch(() => false), 8000);
      // the browser logs the refused command's 400: that one is expected
      const errors = page.errors.filter((x) => !x.includes("status of 400"));
      assert(errors.length === 0 && page.errors.length <= 1, `console errors: ${page.errors.join(" | ")}`);
    } catch (err) {
      throw new Error(`${err.message}\ntraining engine log (tail):\n${e.log.slice(-2000)}`);
    } finally {
      await ctx.close();
      await e.stop();
      rmSync(out, { recursive: true, force: true });
    }
  });

  await test("portfolio page: summary from the engine, equity curves, allocation by profile, Monte Carlo, fills", async () => {
    const page = await watchedPage(browser);
    try {
      await page.goto(base + "/portfolio/");
      // the summary: each agent's snapshot figures and counts as the summary query gives them
      const api = await checkFor("the summary on the page to match the summary query", async () => {
        const s = await (await fetch(`${base}/api/v1/queries/summary`)).json();
        const byName = Object.fromEntries((s.agents ?? []).map((a) => [a.agent, a]));
        if (!AGENTS.every((n) => byName[n]?.latest?.time > 0)) return null;
        const cells = await page.$$eval("#pf-summary-body td[data-agent]", (tds) => tds.map((t) => [t.dataset.agent, t.dataset.field, t.textContent.trim()]));
        const cell = (a, f) => cells.find(([x, y]) => x === a && y === f)?.[2];
        for (const n of AGENTS) {
          const a = byName[n];
          if (decimal(cell(n, "equity")) !== decimal(a.latest.equity)) return null;
          if (decimal(cell(n, "cash")) !== decimal(a.latest.cash) || decimal(cell(n, "exposure")) !== decimal(a.latest.exposure)) return null;
          if (decimal(cell(n, "fees")) !== decimal(a.fees) || decimal(cell(n, "fills")) !== String(a.fills) || decimal(cell(n, "orders")) !== String(a.orders)) return null;
          if (!cell(n, "state")?.includes(a.state)) return null;
        }
        if (decimal(cell("total", "equity")) !== decimalSum(AGENTS.map((n) => byName[n].latest.equity))) return null;
        return byName;
      }, 30000);
      const heads = await page.$$eval("#pf-summary-body tr.pf-head th a", (as) => as.map((a) => a.textContent));
      assert(JSON.stringify(heads) === JSON.stringify(AGENTS), `summary columns ${heads}, want ${AGENTS}`);
      for (const n of AGENTS) assert(Number(api[n].latest.equity) > 0, `${n}'s equity is ${api[n].latest.equity}`);
      console.log(`     summary: ${AGENTS.map((n) => `${n} equity ${api[n].latest.equity}, ${api[n].fills} fills`).join("; ")}`);
      // the equity curves: a line per agent with every snapshot the equity query has
      const pts = await checkFor("an equity curve per agent, two points or more", async () => {
        const p = await page.evaluate(() => window.__portfolio.equity());
        return AGENTS.every((n) => p[n] >= 2) ? p : null;
      }, 30000);
      for (const n of AGENTS) {
        const snaps = await (await fetch(`${base}/api/v1/queries/equity?agent=${n}`)).json();
        assert(pts[n] <= snaps.length && pts[n] >= Math.min(2, snaps.length), `${n}: ${pts[n]} points drawn, the equity query has ${snaps.length}`);
      }
      await checkFor("the equity chart painted", () => painted(page, "#pf-equity-chart"));
      const legend = await page.textContent("#pf-legend");
      for (const n of AGENTS) assert(legend.includes(n), `the equity legend does not name ${n}: ${legend}`);
      // the allocation: each profile's targets, as the allocation query gives them
      for (const profile of ["conservative", "aggressive", "moderate"]) {
        await page.click(`#pf-profiles label:has(input[value="${profile}"])`);
        const want = await (await fetch(`${base}/api/v1/queries/allocation?profile=${profile}`)).json();
        assert(JSON.stringify(want.profiles) === JSON.stringify(["conservative", "moderate", "aggressive"]), `profiles ${want.profiles}`);
        await checkFor(`the ${profile} targets in the allocation table`, async () => {
          if ((await page.$eval("#pf-allocation", (e) => e.dataset.profile)) !== profile) return false;
          const rows = await page.$$eval("#pf-alloc-body tr[data-agent]", (trs) =>
            trs.map((tr) => ({ agent: tr.dataset.agent, target: tr.querySelector('[data-field="target"]').textContent, drift: tr.querySelector('[data-field="drift"]').textContent, status: tr.querySelector('[data-field="status"]').textContent })),
          );
          if (rows.length !== want.weights.length) return false;
          return want.weights.every((w, i) => rows[i].agent === w.agent && Math.abs(parseFloat(rows[i].target) - Number(w.target) * 100) < 1e-9 && /[✓⚠]/.test(rows[i].status) && rows[i].drift.includes("%"));
        });
        const checked = await page.$eval("#pf-profiles input:checked", (i) => i.value);
        assert(checked === profile, `profile ${checked} checked, want ${profile}`);
        const moves = await page.$$eval("#pf-moves tr[data-agent]", (trs) => trs.length);
        assert(moves === want.moves.length, `${profile}: ${moves} moves shown, the query suggests ${want.moves.length}`);
        if (profile === "conservative") await page.locator("#pf-allocation").screenshot({ path: join(artifacts, "portfolio-allocation.png") });
      }
      assert((await page.textContent("#pf-within")).includes("±5 %"), "the drift threshold is not shown");
      // the Monte Carlo fan for ATLAS with a goal: drawn, with the probability of reaching it
      await page.selectOption("#pf-mc-agent", "ATLAS");
      await page.fill("#pf-mc-horizon", "48");
      await page.fill("#pf-mc-goal", String(Math.round(Number(api.ATLAS.latest.equity) * 1.01)));
      await page.click("#pf-mc-run");
      const fan = await checkFor("the fan for ATLAS over 48 hours", async () => {
        const f = await page.evaluate(() => window.__portfolio.fan());
        return f.agent === "ATLAS" && f.points === 49 && f.p_goal !== null ? f : null;
      }, 15000);
      const figs = await page.textContent("#pf-mc-figs");
      const shown = /P\(reach [\d,.]+ in 48 h\)\s*([\d.]+) %/.exec(figs);
      assert(shown && Number(shown[1]) === Math.round(fan.p_goal * 1000) / 10, `probability shown: ${figs} (p_goal ${fan.p_goal})`);
      assert(/P\(end below start\)\s*[\d.]+ %/.test(figs), `no P(end below start) in ${figs}`);
      await checkFor("the fan painted", () => painted(page, "#pf-fan"));
      await page.locator("#pf-montecarlo").screenshot({ path: join(artifacts, "portfolio-montecarlo.png") });
      console.log(`     Monte Carlo ATLAS 48 h: ${figs.replace(/\s+/g, " ").trim()}`);
      // a bad horizon: the engine answers 400 and its message is shown
      await page.fill("#pf-mc-horizon", "0");
      await page.click("#pf-mc-run");
      const msg = await checkFor("the 400 message", () => page.$eval("#pf-montecarlo .msg.error", (m) => m.textContent).catch(() => ""));
      assert(msg.includes("400") && msg.includes("horizon") && msg.includes("not between 1 and 10000"), `message: ${msg}`);
      const direct = await fetch(`${base}/api/v1/queries/montecarlo?agent=ATLAS&horizon=0`);
      assert(direct.status === 400 && msg.includes((await direct.json()).error), `the page's message is not the engine's: ${msg}`);
      await page.waitForTimeout(REFRESH_WAIT);
      assert((await page.$eval("#pf-montecarlo .msg", (m) => m.textContent)) === msg, "the refusal did not stay until the next projection");
      // the positions and the fills, as their queries give them
      const positions = await (await fetch(`${base}/api/v1/queries/positions`)).json();
      await checkFor("the positions table", async () => {
        const n = await page.$$eval("#pf-pos-body tr[data-agent]", (trs) => trs.length);
        return positions.length ? n > 0 : (await page.textContent("#pf-pos-body")).includes("No positions");
      });
      const fills = await checkFor("the fills total as the fills query has it", async () => {
        const f = await (await fetch(`${base}/api/v1/queries/fills?limit=20`)).json();
        const hint = await page.textContent("#pf-fills [data-hint]");
        const rows = await page.$$eval("#pf-fills-body tr[data-agent]", (trs) => trs.length);
        return hint.startsWith(`${f.total.toLocaleString("en-US")} fill`) && rows === Math.min(20, f.total) ? f : null;
      });
      console.log(`     positions: ${positions.length}; fills: ${fills.total}`);
      await page.screenshot({ path: join(artifacts, "portfolio-page.png"), fullPage: true });
      const errors = page.errors.filter((x) => !x.includes("400 (Bad Request)"));
      assert(errors.length === 0, `console errors: ${errors.join(" | ")}`);
    } finally {
      await page.close();
    }
  });

  await test("portfolio page: rebalance and sweep from the page, through the log, into the capital moves and the total", async () => {
    const page = await watchedPage(browser);
    try {
      await page.goto(base + "/portfolio/");
      await checkFor("the capital moves panel loaded", () => page.$eval("#pf-capital-moves", (e) => !e.textContent.includes("loading")));
      await checkFor("the total drawdown figure", () => page.$eval("#pf-totals", (e) => e.textContent.includes("total drawdown")));
      // the aggressive profile's targets (15/35/50) are far from agents that started equal
      await page.click('#pf-profiles label:has(input[value="aggressive"])');
      await checkFor("the aggressive profile chosen", async () => (await page.$eval("#pf-allocation", (e) => e.dataset.profile)) === "aggressive");
      await page.click("#pf-rebalance");
      await checkFor("the rebalance accepted", () => page.$eval("#pf-capital-msg", (e) => /portfolio\.rebalance accepted \(CMD seq \d+\)/.test(e.textContent)));
      const moves = await checkFor("the rebalance's moves in the capital moves table", async () => {
        const api = await (await fetch(`${base}/api/v1/queries/capital_moves`)).json();
        const rebal = (api ?? []).filter((m) => m.type === "rebalance");
        if (rebal.length < 2) return null;
        const shown = await page.$$eval('#pf-capital-table tr[data-type="rebalance"]', (trs) => trs.length);
        return shown >= rebal.length ? rebal : null;
      }, 20000);
      assert(decimal(decimalSum(moves.map((m) => m.amount))) === decimal("0"), `the rebalance's moves sum to ${decimalSum(moves.map((m) => m.amount))}, not 0`);
      assert(moves.every((m) => m.reason.includes("aggressive")), `moves not made for the aggressive profile: ${JSON.stringify(moves)}`);
      console.log(`     rebalance to aggressive: ${moves.map((m) => `${m.agent} ${m.amount}`).join(", ")}`);
      // a profit sweep: accepted through the log (whether it moves anything depends on profits)
      await page.fill("#pf-keep", "0");
      await page.click("#pf-distribute");
      await checkFor("the sweep accepted", () => page.$eval("#pf-capital-msg", (e) => /portfolio\.distribute accepted/.test(e.textContent)));
      // a bad keep is refused with the field named, and nothing is sent
      await page.fill("#pf-keep", "7");
      await page.click("#pf-distribute");
      await checkFor("a keep of 7 refused", () => page.$eval("#pf-capital-msg", (e) => /refused \(400\).*\[field: keep\]/.test(e.textContent)));
      await page.locator("#pf-allocation").screenshot({ path: join(artifacts, "portfolio-capital-moves.png") });
    } finally {
      await page.close();
    }
  });

  await test("models page: the ensemble is shown active while it publishes signals", async () => {
    const page = await watchedPage(browser);
    try {
      await page.goto(base + "/models/");
      // the engine's graph says the ensemble publishes (its signals' rate); the page says active
      const shown = await checkFor("the ensemble row to say active while the ensemble publishes", async () => {
        const graph = await (await fetch(`${base}/api/v1/queries/state?topic=graph`)).json();
        const rate = graph.nodes.find((n) => n.id === "model/ensemble")?.rate ?? 0;
        const text = await page.$eval('#ms tr[data-key="ensemble"] [data-field="state"]', (e) => e.textContent).catch(() => "");
        return rate > 0 && text.startsWith("▶ active") ? text : null;
      }, 20000);
      console.log(`     ensemble: ${shown}`);
      assert(page.errors.length === 0, `console errors: ${page.errors.join(" | ")}`);
    } finally {
      await page.close();
    }
  });

  // --- the Models, Agents and Portfolio pages against their queries ------------------------
  await test("models page: histograms as the batcher has them; an admin deploys a shadow, sees it, retires it", async () => {
    // a second engine with tokens, replaying at full speed so that the batcher's counts stop
    // moving once the feed has finished and the page can be held to the query exactly
    const e = await startEngine(["--speed", "max", "--replay", join("streams", "recordings", "ETHUSDT-1m-2022-08-14.csv.gz")], { auth: true });
    const auth = { Authorization: `Bearer ${e.token}` };
    const models = async () => (await fetch(`${e.url}/api/v1/queries/models`, { headers: auth })).json();
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    try {
      const page = await watchedPage(ctx);
      await page.goto(`${e.url}/models/?token=${e.token}`);
      const settled = await checkFor("the replay finished and the batcher idle", async () => {
        const st = await (await fetch(`${e.url}/api/v1/queries/engine`, { headers: auth })).json();
        if (!st.feed_finished) return null;
        const a = await models();
        await new Promise((r) => setTimeout(r, 1000));
        const b = await models();
        const count = (m) => JSON.stringify((m.batcher.Models ?? []).map((x) => [x.Key, x.Batches, x.Served, x.Failed]));
        return count(a) === count(b) && (b.batcher.Models ?? []).length >= 3 && b.batcher.Models.every((x) => x.Batches > 0) ? b : null;
      }, 120000);
      // every model's bars: the batch sizes and run times sum to its batches, the waits to its answered requests
      const sums = await checkFor("the histograms drawn from the settled counts", async () => {
        const bars = await page.$$eval("figure.hist", (fs) => fs.map((f) => [f.dataset.model, f.dataset.hist, [...f.querySelectorAll("rect[data-count]")].reduce((a, r) => a + Number(r.dataset.count), 0)]));
        const sum = (k, h) => bars.find(([m, x]) => m === k && x === h)?.[2];
        return settled.batcher.Models.every((m) => sum(m.Key, "BatchRows") === m.Batches && sum(m.Key, "RunSeconds") === m.Batches && sum(m.Key, "QueueWait") === m.Served + m.Failed) ? bars : null;
      }, 10000);
      const labels = await page.$$eval('figure.hist[data-hist="BatchRows"] .axis-label', (ts) => ts.map((t) => t.textContent));
      assert(labels.includes("rows per batch (≤ bound)") && labels.includes("batches"), `axis labels ${labels}`);
      console.log(`     histograms: ${settled.batcher.Models.map((m) => `${m.Key} ${m.Batches} batches`).join(", ")} (${sums.length} charts)`);
      // rows/s over the last interval: 0 once nothing runs (the page asks every 2 s)
      await checkFor("rows/s and requests/s at 0 once the batcher is idle", async () => {
        const r = await page.$$eval('#mb-body td[data-field$="_per_s"]', (tds) => tds.map((t) => t.textContent));
        return r.length === 2 * settled.batcher.Models.length && r.every((x) => x === "0.0");
      }, 8000);
      // no shadow deployed: no shadow row in either table
      assert((await page.$$("#mv-body tr[data-role=shadow]")).length === 0, "a shadow row with no shadow deployed");
      assert(!(await page.textContent("#ms")).includes("@shadow"), "a shadow model actor shown with no shadow deployed");
      // a folder without the model: refused with the engine's message, naming the field
      await page.selectOption("#mv-model", "direction");
      await page.fill("#mv-dir", "/nonexistent/models");
      await page.selectOption("#mv-mode", "shadow");
      await page.click("#mv-deploy-btn");
      const refused = await checkFor("the refusal", () => page.$eval("#mv-msg.error", (m) => m.textContent).catch(() => ""));
      assert(refused.includes("refused (400)") && refused.includes("[field: dir]"), `message: ${refused}`);
      // the repository's models, by absolute path, in shadow
      const dir = join(repo, "inference", "models");
      await page.fill("#mv-dir", dir);
      await page.click("#mv-deploy-btn");
      await checkFor("the shadow row", () => page.$('#mv-body tr[data-role=shadow][data-model="direction"]'), 15000);
      const applied = await checkFor("the deployment applied", () => page.$eval("#mv-msg.ok", (m) => (m.textContent.includes("applied") ? m.textContent : "")).catch(() => ""), 15000);
      const after = await models();
      const shadow = (after.shadow ?? []).find((d) => d.model === "direction");
      assert(shadow && shadow.source === join(dir, "direction.json"), `the models query's shadow: ${JSON.stringify(after.shadow)}`);
      assert(applied.includes(`direction v${shadow.version} now runs in shadow`), `message: ${applied}`);
      const row = await page.textContent('#mv-body tr[data-role=shadow][data-model="direction"]');
      assert(row.includes(`v${shadow.version}`) && row.includes("vs live"), `shadow row: ${row}`);
      await page.locator("#models-versions").screenshot({ path: join(artifacts, "models-shadow.png"), timeout: 60000 });
      // retire it: the row goes, and the query has no shadow
      await page.click('#mv-body tr[data-role=shadow][data-model="direction"] button[data-cmd="models.retire_shadow"]');
      await checkFor("the shadow row gone", async () => (await page.$$("#mv-body tr[data-role=shadow]")).length === 0, 15000);
      await checkFor("the retirement applied", () => page.$eval("#mv-msg.ok", (m) => m.textContent.includes("models.retire_shadow applied")).catch(() => false), 15000);
      assert(((await models()).shadow ?? []).length === 0, "the engine still runs a shadow");
      await page.screenshot({ path: join(artifacts, "models-page.png"), fullPage: true });
      const errors = page.errors.filter((x) => !x.includes("400 (Bad Request)"));
      assert(errors.length === 0, `console errors: ${errors.join(" | ")}`);
    } catch (err) {
      throw new Error(`${err.message}\nsecond engine log (tail):\n${e.log.slice(-2000)}`);
    } finally {
      await ctx.close();
      await e.stop();
    }
  });

  await test("agents page: each card's risk limits are the agents query's, with their use in text", async () => {
    const page = await watchedPage(browser);
    try {
      await page.goto(base + "/agents/");
      const api = await agentsByAPI(base);
      const pctOf = (s) => Number(decimal(s.replace("%", "")));
      for (const name of AGENTS) {
        const want = api[name];
        assert(want.limits && want.drawdown_halt, `${name} in the agents query has no limits: ${JSON.stringify(want)}`);
        const cells = await checkFor(`${name}'s limits`, async () => {
          const c = await page.$$eval(`[data-agent="${name}"] tr[data-limit]`, (trs) => Object.fromEntries(trs.map((tr) => [tr.dataset.limit, { limit: tr.querySelector(".limit-value").textContent, use: tr.querySelector(".use").textContent }])));
          return Object.keys(c).length === 6 ? c : null;
        });
        assert(decimal(cells.max_order_notional.limit) === decimal(want.limits.max_order_notional), `${name} max order notional ${cells.max_order_notional.limit}, query ${want.limits.max_order_notional}`);
        assert(decimal(cells.max_position_notional.limit) === decimal(want.limits.max_position_notional), `${name} max position notional ${cells.max_position_notional.limit}, query ${want.limits.max_position_notional}`);
        assert(Number(cells.max_open_orders.limit) === want.limits.max_open_orders && Number(cells.orders_per_minute.limit) === want.limits.orders_per_minute, `${name} counts ${JSON.stringify(cells)}`);
        assert(Math.abs(pctOf(cells.price_band.limit) - Number(want.limits.price_band) * 100) < 1e-9, `${name} price band ${cells.price_band.limit}, query ${want.limits.price_band}`);
        assert(Math.abs(pctOf(cells.drawdown_halt.limit) - Number(want.drawdown_halt) * 100) < 1e-9, `${name} drawdown halt ${cells.drawdown_halt.limit}, query ${want.drawdown_halt}`);
        for (const k of ["max_position_notional", "drawdown_halt", "max_open_orders"]) assert(/^[✓⚠⛔] /.test(cells[k].use), `${name} ${k}: the use is not said in text: "${cells[k].use}"`);
      }
      console.log(`     limits: ${AGENTS.map((n) => `${n} order ≤ ${api[n].limits.max_order_notional}, position ≤ ${api[n].limits.max_position_notional}, halt at ${api[n].drawdown_halt}`).join("; ")}`);
      await page.locator(`[data-agent="ATLAS"]`).screenshot({ path: join(artifacts, "agents-limits.png"), timeout: 60000 });
      assert(page.errors.length === 0, `console errors: ${page.errors.join(" | ")}`);
    } finally {
      await page.close();
    }
  });

  await test("portfolio page: the drawdown curves, the total's deepest point the summary's max drawdown", async () => {
    const page = await watchedPage(browser);
    try {
      await page.goto(base + "/portfolio/");
      const got = await checkFor("the total's drawdown series to match the summary", async () => {
        const s = await (await fetch(`${base}/api/v1/queries/summary`)).json();
        const dd = await page.evaluate(() => window.__portfolio.drawdown());
        const shown = await page.$eval('#pf-dd-figs [data-dd="total"]', (e) => e.dataset.max).catch(() => null);
        if (!s.total || !dd.total || dd.total.points < 2) return null;
        return decimal(dd.total.max) === decimal(s.total.max_drawdown) && shown === dd.total.max ? { page: dd, summary: s.total } : null;
      }, 30000);
      for (const n of AGENTS) assert(got.page[n]?.points >= 2, `${n}'s drawdown series has ${got.page[n]?.points} points`);
      await checkFor("the drawdown chart painted", () => painted(page, "#pf-drawdown-chart"));
      console.log(`     drawdown: total max ${got.page.total.max} over ${got.page.total.points} points (summary ${got.summary.max_drawdown}, now ${got.summary.drawdown}); ${AGENTS.map((n) => `${n} max ${got.page[n].max}`).join(", ")}`);
      await page.locator("#pf-equity").screenshot({ path: join(artifacts, "portfolio-drawdown.png"), timeout: 60000 });
      assert(page.errors.length === 0, `console errors: ${page.errors.join(" | ")}`);
    } finally {
      await page.close();
    }
  });

  await test("markets page: the candles query's history drawn, indicators on the chart, fill markers as the fills query, signal markers as the candles query", async () => {
    // the fill markers need a fill: the agents' first comes about 100 s into the replay, so
    // this test run alone (E2E_ONLY) waits for it where the suite's earlier tests took that time
    await checkFor("a first fill on the log", async () => {
      const q = await (await fetch(`${base}/api/v1/queries/fills?limit=1`)).json();
      return q.total > 0 ? q : null;
    }, 240000);
    const page = await watchedPage(browser);
    try {
      await page.goto(base + "/markets/");
      const symbols = await (await fetch(`${base}/api/v1/queries/symbols`)).json();
      const cards = await checkFor("every symbol's history loaded", async () => {
        const c = await page.evaluate(() => window.__markets.cards());
        return symbols.every(([v, s]) => c[`symbol/${v}/${s}`]?.loaded && c[`symbol/${v}/${s}`].candles > 0) ? c : null;
      }, 30000);
      let fillsSeen = 0;
      let signalsSeen = 0; // signals that came with the history, over every symbol
      let flipsSeen = 0;
      const indicatorsSeen = {}; // candles with each indicator checked, over every symbol
      for (const [venue, symbol] of symbols) {
        const topic = `symbol/${venue}/${symbol}`;
        const card = cards[topic];
        assert(card.historyRows > 0 && card.candles >= card.historyRows, `${topic}: ${card.candles} candles drawn, ${card.historyRows} from the query`);
        // every candle the query answers within what is drawn is drawn, with its exact OHLC and indicators
        // (retried: during a fast replay the page may be fetching candles the topic skipped)
        const { drawn, inView } = await checkFor(`${topic}: the query's candles drawn with their exact OHLC`, async () => {
          const rows = await (await fetch(`${base}/api/v1/queries/candles?venue=${venue}&symbol=${symbol}&interval=1m&limit=500`)).json();
          const drawn = await page.evaluate((t) => window.__markets.drawn(t), topic);
          const at = new Map(drawn.candles.map((d) => [d.time, d]));
          const first = drawn.candles[0].time;
          const last = drawn.candles[drawn.candles.length - 1].time;
          const inView = rows.filter((r) => r.open_time / 1000 >= first && r.open_time / 1000 <= last);
          if (inView.length < Math.min(card.historyRows, 20)) throw new Error(`only ${inView.length} of the query's candles within the drawn range`);
          for (const r of inView) {
            const d = at.get(r.open_time / 1000);
            if (!(d && d.open === Number(r.open) && d.high === Number(r.high) && d.low === Number(r.low) && d.close === Number(r.close))) throw new Error(`candle ${r.open_time} drawn ${JSON.stringify(d)}, the query has ${JSON.stringify(r)}`);
          }
          return { drawn, inView };
        }, 15000);
        for (const key of ["sma_20", "ema_20", "bb_upper_20_2", "bb_lower_20_2", "rsi_14"]) {
          const line = new Map(drawn.lines[key].map((p) => [p.time, p.value]));
          const withValue = inView.filter((r) => r.values?.[key] !== undefined);
          assert(line.size >= withValue.length, `${topic}: ${key} drawn on ${line.size} candles, the query has it on ${withValue.length}`);
          indicatorsSeen[key] = (indicatorsSeen[key] ?? 0) + withValue.length;
          for (const r of withValue) assert(line.get(r.open_time / 1000) === r.values[key], `${topic}: ${key} at ${r.open_time} drawn ${line.get(r.open_time / 1000)}, the query has ${r.values[key]}`);
        }
        for (const name of ["SMA 20", "EMA 20", "Bollinger", "RSI 14", "▲", "▼", "BUY", "SELL"]) assert(card.legend.includes(name), `${topic}: the legend does not name ${name}: ${card.legend}`);
        // the fill markers: one per fill the fills query has in the minutes drawn
        const got = await checkFor(`${topic}: a marker per fill of the fills query`, async () => {
          const c = (await page.evaluate(() => window.__markets.cards()))[topic];
          const q = await (await fetch(`${base}/api/v1/queries/fills?venue=${venue}&symbol=${symbol}&since=${c.firstTime * 1000}&until=${c.lastTime * 1000 + 59999}&limit=1`)).json();
          return c.fillMarkers === q.total ? { markers: c.fillMarkers, fills: q.total, signals: c.signalMarkers } : null;
        }, 15000);
        fillsSeen += got.fills;
        // the signal markers: the candles query's signals (read from the log, so there after a
        // restart too) came with the history and are drawn, a marker where the ensemble's
        // direction call flips; live signals may add flips, never take one away
        const sig = await checkFor(`${topic}: a signal marker per flip of the candles query's signals`, async () => {
          const c = (await page.evaluate(() => window.__markets.cards()))[topic];
          const rows = await (await fetch(`${base}/api/v1/queries/candles?venue=${venue}&symbol=${symbol}&interval=1m&limit=500`)).json();
          let flips = 0;
          let prev;
          for (const r of rows) {
            if (!r.signal || r.open_time / 1000 < c.firstTime || r.open_time / 1000 > c.lastTime) continue;
            if (prev !== undefined && r.signal.direction >= 0.5 !== prev >= 0.5) flips++;
            prev = r.signal.direction;
          }
          return c.signalMarkers >= flips ? { flips, markers: c.signalMarkers, history: c.historySignals } : null;
        }, 15000);
        signalsSeen += sig.history;
        flipsSeen += sig.flips;
        console.log(`     ${topic}: ${card.candles} candles (${card.historyRows} from the query), ${got.markers} fill markers = ${got.fills} fills, ${sig.markers} signal markers (the query's signals flip ${sig.flips} times; ${sig.history} signals came with the history)`);
      }
      assert(fillsSeen > 0, "no fill on any chart: the fill markers were not tested");
      assert(signalsSeen > 0 && flipsSeen > 0, `${signalsSeen} signals came with the candles' history, flipping ${flipsSeen} times: the signal markers were not tested`);
      for (const key of ["sma_20", "ema_20", "bb_upper_20_2", "bb_lower_20_2", "rsi_14"]) assert(indicatorsSeen[key] > 0, `${key} is on no symbol's chart (still warming up everywhere?)`);
      await page.locator(".market").first().screenshot({ path: join(artifacts, "markets-chart.png") });
      assert(page.errors.length === 0, `console errors: ${page.errors.join(" | ")}`);
    } finally {
      await page.close();
    }
  });

  await test("backtest HTML report: offline in Chromium, charts drawn, no console errors", async () => {
    const data = join("streams", "recordings", "ETHUSDT-1m-2022-08-14.csv.gz");
    const out = join(artifacts, "backtest.html");
    await run(bin, ["backtest", "--data", data, "--report", "html", "--out", out, "--quiet"]);
    const sha = createHash("sha256").update(readFileSync(join(repo, data))).digest("hex");
    const ctx = await browser.newContext({ offline: true, viewport: { width: 1400, height: 900 } });
    const page = await watchedPage(ctx);
    const requests = [];
    page.on("request", (r) => !r.url().startsWith("file:") && !r.url().startsWith("data:") && requests.push(r.url()));
    try {
      await page.goto(pathToFileURL(out).href);
      await checkFor("the report drawn", () => page.evaluate(() => window.__report?.ready));
      const charts = await page.evaluate(() => window.__report.charts());
      assert(JSON.stringify(charts.map((c) => c.agent)) === JSON.stringify(AGENTS), `charts for ${JSON.stringify(charts)}`);
      for (const c of charts) assert(c.points > 1, `${c.agent}'s curve has ${c.points} points`);
      // every agent's chart canvas has pixels on it
      for (const name of AGENTS) {
        await checkFor(`${name}'s chart painted`, () =>
          page.$$eval(`[data-agent="${name}"] .chart canvas`, (cs) =>
            cs.some((c) => {
              if (!c.width || !c.height) return false;
              const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
              for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) return true;
              return false;
            }),
          ),
        );
      }
      const text = await page.textContent("body");
      assert(text.includes("identity ok"), "the identity is not said to hold");
      assert(text.includes(sha), `the input's sha256 ${sha} is not shown`);
      assert(text.includes(basename(data)), "the input file is not named");
      for (const t of ["Rejections by check", "Order events on the log", "intent", "fill"]) assert(text.includes(t), `no "${t}" in the report`);
      await page.screenshot({ path: join(artifacts, "backtest-report.png"), fullPage: true });
      assert(requests.length === 0, `the report requested ${requests.join(", ")}`);
      assert(page.errors.length === 0, `console errors: ${page.errors.join(" | ")}`);
    } finally {
      await ctx.close();
    }
  });

  await test("drag pans and the wheel zooms the neural view", async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(base + "/");
    const first = await checkFor("the router neuron", () => page.evaluate(() => window.__synapse.graph().drawnNodes.find((n) => n.id === "router")));
    const box = await page.locator("#net").boundingBox();
    const cx = box.x + 40, cy = box.y + 40; // an empty corner: dragging there pans
    await page.mouse.move(cx, cy);
    await page.mouse.down();
    await page.mouse.move(cx + 60, cy + 30, { steps: 5 });
    await page.mouse.up();
    const panned = await page.evaluate(() => window.__synapse.graph().drawnNodes.find((n) => n.id === "router"));
    assert(Math.abs(panned.x - first.x - 60) < 2 && Math.abs(panned.y - first.y - 30) < 2, `router moved from ${first.x},${first.y} to ${panned.x},${panned.y}, want +60,+30`);
    await page.mouse.move(panned.x, panned.y);
    await page.mouse.wheel(0, -300);
    const zoomed = await checkFor("a zoomed router", async () => {
      const z = await page.evaluate(() => window.__synapse.graph().drawnNodes.find((n) => n.id === "router"));
      return z.r > panned.r * 1.2 ? z : null;
    }, 3000);
    assert(Math.abs(zoomed.x - panned.x) < 2, "zoom keeps the point under the pointer in place");
    await page.close();
  });

  await test("401 on queries asks for the token link", async () => {
    const page = await browser.newPage();
    await page.route("**/api/v1/queries/**", (r) => r.fulfill({ status: 401, body: '{"error":"unauthorized"}' }));
    await page.goto(base + "/models/");
    await checkFor("the sign-in banner", () => page.$eval("#banner", (e) => !e.hidden && e.textContent.includes("?token=")));
    await page.close();
  });

  await test("prefers-reduced-motion turns motion off", async () => {
    const ctx = await browser.newContext({ reducedMotion: "reduce" });
    const page = await ctx.newPage();
    await page.goto(base + "/");
    await checkFor("reduced motion seen by the app", () => page.evaluate(() => window.__synapse.reducedMotion() && document.body.classList.contains("reduced-motion")));
    await ctx.close();
  });

  await test("every panel tilts with the pointer; with prefers-reduced-motion none does", async () => {
    for (const reducedMotion of ["no-preference", "reduce"]) {
      const ctx = await browser.newContext({ reducedMotion, viewport: { width: 1400, height: 900 } });
      try {
        for (const [path, panels] of [["/markets/", ".market"], ["/agents/", ".agent"]]) {
          const page = await ctx.newPage();
          await page.goto(base + path);
          await checkFor(`${panels} panels`, async () => (await page.$$(panels)).length >= (path === "/agents/" ? AGENTS.length : 1));
          // each panel's transform with the pointer at the top left, then at the bottom right
          const transforms = () => page.$$eval("#content .glass", (els) => els.map((e) => `${e.className.split(" ").slice(1).join(".")}: ${getComputedStyle(e).transform}`));
          await page.mouse.move(60, 60);
          await page.waitForTimeout(400); // the 0.2 s transition
          const a = await transforms();
          await page.mouse.move(1340, 860);
          await page.waitForTimeout(400);
          const b = (await transforms()).slice(0, a.length);
          const moved = a.filter((t, i) => !t.endsWith(": none") && t !== b[i]);
          if (reducedMotion === "reduce") assert(a.concat(b).every((t) => t.endsWith(": none")), `${path}, reduced motion: transforms ${a} then ${b}`);
          else assert(a.length >= 1 && moved.length === a.length, `${path}: ${moved.length} of ${a.length} panels tilted (${a} then ${b})`);
          await page.close();
        }
      } finally {
        await ctx.close();
      }
    }
  });

  // on every page: its content panels must not cost the neural view its frames
  for (const p of PAGES) {
    await test(`300-neuron synthetic graph costs <= ${maxFrameCPU} ms CPU per frame on ${p.name}`, async () => {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await page.goto(base + p.path);
      await checkFor("the neural view", () => page.evaluate(() => window.__synapse.ws() === "live"));
      const drawn = await page.evaluate(() => {
        // 1 feed, MD, router, 200 symbols, 60 pairs, FEAT, 30 models, batcher, ensemble, runtime, SIG, 2 more streams = 300
        const nodes = [];
        const edges = [];
        const add = (id, kind, label) => nodes.push({ id, kind, label: label ?? id, count: 1000, rate: 0, load: 0 });
        add("feed", "feed");
        add("stream/MD", "stream", "MD");
        add("router", "router");
        add("stream/FEAT", "stream", "FEAT");
        add("stream/SIG", "stream", "SIG");
        add("stream/CMD", "stream", "CMD");
        add("stream/AUDIT", "stream", "AUDIT");
        add("batcher", "batcher");
        add("ensemble", "ensemble");
        add("onnxruntime", "runtime");
        let seed = 1;
        const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
        const edge = (from, to) => edges.push({ from, to, count: 1, rate: rnd() < 0.2 ? 0 : Math.pow(10, rnd() * 4) });
        edge("feed", "stream/MD");
        edge("stream/MD", "router");
        for (let i = 0; i < 200; i++) {
          add(`symbol/s${i}`, "symbol", `SYM${i}USDT`);
          edge("router", `symbol/s${i}`);
          edge(`symbol/s${i}`, "stream/FEAT");
        }
        for (let i = 0; i < 60; i++) {
          add(`pair/p${i}`, "pair");
          edge(`symbol/s${i}`, `pair/p${i}`);
          edge(`symbol/s${i + 1}`, `pair/p${i}`);
          edge(`pair/p${i}`, "stream/FEAT");
        }
        for (let i = 0; i < 30; i++) {
          add(`model/m${i}`, "model");
          edge("stream/FEAT", `model/m${i}`);
          edge(`model/m${i}`, "batcher");
          edge(`model/m${i}`, "ensemble");
          edge(`model/m${i}`, "stream/SIG");
        }
        edge("batcher", "onnxruntime");
        edge("ensemble", "stream/SIG");
        for (const n of nodes) n.load = rnd() * rnd();
        window.__e2eGraph = { nodes, edges };
        window.__synapse.setGraph(window.__e2eGraph);
        return { nodes: nodes.length, edges: edges.length };
      });
      assert(drawn.nodes === 300, `synthetic graph has ${drawn.nodes} nodes`);
      // What the graph costs the page: the renderer's CPU time per frame (Chromium's
      // ProcessTime over the frames drawn) with the 300-neuron graph, less the same with an
      // empty graph, in three pairs of adjacent 1.5 s windows (the page's own panels cost
      // the same in both halves of a pair; the median pair is asserted). It is what the
      // view's code costs, whatever else the machine runs. The frame rate (the best window
      // with the graph) also depends on the renderer getting a core, which a 2-core machine
      // replaying the engine beside it cannot promise: it is asserted only while the load
      // average is below the core count, and reported otherwise.
      const cdp = await page.context().newCDPSession(page);
      await cdp.send("Performance.enable");
      const sample = async () => {
        const { metrics } = await cdp.send("Performance.getMetrics");
        const frames = await page.evaluate(() => window.__synapse.frames());
        const m = (name) => metrics.find((x) => x.name === name).value;
        return { cpu: m("ProcessTime"), t: m("Timestamp"), frames };
      };
      const measure = async (graph) => {
        await page.evaluate((on) => window.__synapse.setGraph(on ? window.__e2eGraph : { nodes: [], edges: [] }), graph);
        await page.waitForTimeout(250); // the layers repainted, the sprites drawn
        const a = await sample();
        await page.waitForTimeout(1500);
        const b = await sample();
        const frames = Math.max(1, b.frames - a.frames);
        return { cpuMs: ((b.cpu - a.cpu) * 1000) / frames, fps: frames / (b.t - a.t) };
      };
      await page.waitForTimeout(1000); // warm up with the graph
      const pairs = [];
      for (let i = 0; i < 3; i++) pairs.push({ graph: await measure(true), empty: await measure(false) });
      await page.evaluate(() => window.__synapse.setGraph(window.__e2eGraph));
      await page.waitForTimeout(300);
      const costs = pairs.map((p) => p.graph.cpuMs - p.empty.cpuMs).sort((x, y) => x - y);
      const cost = costs[1];
      const fps = Math.max(...pairs.map((p) => p.graph.fps));
      const load = loadavg()[0];
      console.log(`     windows (graph / empty): ${pairs.map((p) => `${p.graph.fps.toFixed(1)} fps ${p.graph.cpuMs.toFixed(1)} / ${p.empty.cpuMs.toFixed(1)} ms CPU per frame`).join(", ")} (load ${load.toFixed(1)} on ${cpus().length} cores)`);
      const g = await page.evaluate(() => window.__synapse.graph().drawnNodes.length);
      console.log(`     synthetic graph: ${drawn.nodes} neurons, ${drawn.edges} synapses, ${g} drawn, ${fps.toFixed(1)} fps, ${cost.toFixed(1)} ms renderer CPU per frame for the graph`);
      await page.screenshot({ path: join(artifacts, `synthetic-300-${p.name}.png`) });
      await page.close();
      assert(g === 300, `${g} of 300 neurons drawn`);
      assert(cost <= maxFrameCPU, `the graph costs ${cost.toFixed(1)} ms of renderer CPU per frame, want <= ${maxFrameCPU} (60 fps needs ${(cost * 0.06).toFixed(2)} of a core for it)`);
      if (minFPS > 0 && load < cpus().length) assert(fps >= minFPS, `${fps.toFixed(1)} fps, want >= ${minFPS} (load ${load.toFixed(1)} on ${cpus().length} cores)`);
      else if (minFPS > 0) console.log(`     frame rate not asserted: load ${load.toFixed(1)} is not below the ${cpus().length} cores`);
    });
  }
} catch (e) {
  failed++;
  console.log(`FAIL setup: ${e?.stack ?? e}`);
} finally {
  await browser?.close();
  await stopAndWait();
}
if (failed > 0 && engineLog) console.log(`engine log (tail):\n${engineLog.slice(-3000)}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
