// Builds the UI into ../ui: app.js and app.css bundled by esbuild from src/main.ts; the
// backtest report's report.js and report.css from src/report.ts (web.RenderBacktest inlines
// them into one self-contained HTML file); the index.html every page is served; and
// SOURCES.sha256, the hash of the sources the build came from (web/ui_test.go recomputes it
// to catch a committed build that is older than its sources).
//
//   node build.mjs          build
//   node build.mjs --hash   print the sources' hash only
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync, rmSync, mkdirSync, statSync } from "node:fs";
import { join, relative, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "ui");

// The pages are routed in src/pages.ts (PAGES) and served by the gateway (web.Pages).

/** sourcesHash: sha256 over every file of web/uisrc but node_modules, sorted by path, as
 * "path\nlength\ncontent". ui_test.go computes the same. */
export function sourcesHash() {
  const files = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      if (name === "node_modules") continue;
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else files.push(relative(here, p).split("\\").join("/"));
    }
  };
  walk(here);
  files.sort();
  const h = createHash("sha256");
  for (const f of files) {
    const b = readFileSync(join(here, f));
    h.update(`${f}\n${b.length}\n`);
    h.update(b);
  }
  return h.digest("hex");
}

if (process.argv.includes("--hash")) {
  console.log(sourcesHash());
  process.exit(0);
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: join(here, "src", "main.ts"), report: join(here, "src", "report.ts") },
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2022",
  outdir: out,
  legalComments: "none",
  logLevel: "warning",
});
const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SYNAPSE</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/app.css">
</head>
<body>
<div id="app"></div>
<noscript>The Synapse UI needs JavaScript.</noscript>
<script src="/app.js"></script>
</body>
</html>
`;
// One index.html: the gateway serves it for every page path (web.Pages), and the client
// routes on location.pathname.
writeFileSync(join(out, "index.html"), html);
writeFileSync(join(out, "SOURCES.sha256"), sourcesHash() + "\n");
console.log(`ui built into ${relative(process.cwd(), out) || "."}`);
