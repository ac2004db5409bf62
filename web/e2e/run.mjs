// End-to-end tests of the Synapse web UI in headless Chromium against a real engine that
// replays the bundled Binance recordings. Run from anywhere: `node web/e2e/run.mjs` (the
// Makefile's `make e2e` builds bin/synapse and installs playwright-core first).
//
// Environment: CHROMIUM (default /usr/bin/chromium), SYNAPSE_BIN (default bin/synapse),
// E2E_MIN_FPS (default 50; 0 reports the synthetic-graph frame rate without asserting it;
// it is also only reported while the machine's load average exceeds its core count).
import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir, loadavg, cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..", "..");
const artifacts = join(here, "artifacts");
const bin = process.env.SYNAPSE_BIN ?? join(repo, "bin", "synapse");
const minFPS = Number(process.env.E2E_MIN_FPS ?? 50);

const PAGES = [
  { path: "/", name: "dashboard", live: true },
  { path: "/markets/", name: "markets", live: true },
  { path: "/datasets/", name: "datasets", live: true, tierOff: true },
  { path: "/training/", name: "training", live: true, tierOff: true },
  { path: "/models/", name: "models", live: true },
  { path: "/agents/", name: "agents", tierOff: true },
  { path: "/portfolio/", name: "portfolio", tierOff: true },
  { path: "/health/", name: "health", live: true },
];

let passed = 0;
let failed = 0;
async function test(name, fn) {
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

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
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
        if (p.live) {
          await checkFor("live values on the page", () =>
            hook(() => [...document.querySelectorAll("[data-live]")].some((e) => e.textContent.trim() !== "" && e.textContent.trim() !== "—")),
          );
        }
        if (p.tierOff) {
          const t = await page.textContent("[data-tier-off]");
          assert(t.includes("not running yet"), `tier panel says ${t}`);
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
        await page.waitForTimeout(300);
        await page.screenshot({ path: join(artifacts, `${p.name}.png`) });
        assert(errors.length === 0, `console errors: ${errors.join(" | ")}`);
      } finally {
        await page.close();
      }
    });
  }

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

  await test(`300-neuron synthetic graph at >= ${minFPS} fps`, async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(base + "/agents/");
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
      window.__synapse.setGraph({ nodes, edges });
      return { nodes: nodes.length, edges: edges.length };
    });
    assert(drawn.nodes === 300, `synthetic graph has ${drawn.nodes} nodes`);
    // the hook's frame rate covers the last 120 frames (2 s at 60 fps); other work on a
    // small machine can stall one window, so the best of three windows is asserted
    const windows = [];
    for (let i = 0; i < 3; i++) {
      await page.waitForTimeout(2100);
      windows.push(await page.evaluate(() => window.__synapse.fps()));
    }
    const fps = Math.max(...windows);
    console.log(`     fps windows: ${windows.map((f) => f.toFixed(1)).join(", ")}`);
    const g = await page.evaluate(() => window.__synapse.graph().drawnNodes.length);
    console.log(`     synthetic graph: ${drawn.nodes} neurons, ${drawn.edges} synapses, ${g} drawn, ${fps.toFixed(1)} fps`);
    await page.screenshot({ path: join(artifacts, "synthetic-300.png") });
    await page.close();
    assert(g === 300, `${g} of 300 neurons drawn`);
    // a machine busier than its cores (other test runs) starves the renderer: then the
    // figure is reported, not asserted, since it measures the neighbours, not the view
    const load = loadavg()[0];
    if (load > cpus().length) console.log(`     NOT ASSERTED: machine busy (load ${load.toFixed(1)} on ${cpus().length} cores); ${fps.toFixed(1)} fps`);
    else if (minFPS > 0) assert(fps >= minFPS, `${fps.toFixed(1)} fps, want >= ${minFPS} (load ${load.toFixed(1)} on ${cpus().length} cores)`);
  });
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
