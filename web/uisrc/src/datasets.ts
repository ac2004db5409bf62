// The Datasets page: what the log holds, per stream and per symbol, from the datasets query
// (GET /api/v1/queries/datasets), asked again every 2 s while the page is visible and at once
// after the websocket reconnects. The counts and time ranges are the log's own; the gaps of
// the 1m candles and the refused events are what the symbol actors counted; the bad lines are
// the replay's. A problem is marked ⚠ with words, never by colour alone.
import { Live, query, AuthError, QueryError } from "./live";
import { esc, int, time, put } from "./format";
import { messagePanel as panel } from "./panel";

/** SubjectDataset is one subject of MD or FEAT (main.SubjectDataset). Times: epoch ms, market time. */
interface SubjectDataset {
  stream: string;
  subject: string;
  kind: string;
  interval?: string;
  count: number;
  first_seq: number;
  last_seq: number;
  first_time: number;
  first_time_iso: string;
  last_time: number;
  last_time_iso: string;
}

/** SymbolCounts is what a symbol actor counted (main.SymbolCounts). */
interface SymbolCounts {
  events: number;
  malformed: number;
  duplicates: number;
  out_of_order: number;
  other_trades: number;
  last_problem?: string;
  candles: number;
  first_candle: number;
  last_candle: number;
  gaps: number;
  missing_minutes: number;
  largest_gap: number;
  largest_gap_start: number;
}

interface SymbolDataset {
  venue: string;
  symbol: string;
  datasets: SubjectDataset[];
  actor: SymbolCounts | null;
}

interface StreamDataset {
  name: string;
  description: string;
  messages: number;
  bytes: number;
  subjects: number;
  first_seq: number;
  last_seq: number;
  first_stored?: string;
  last_stored?: string;
}

interface ReplayFile {
  source: string;
  format?: string;
  records: number;
  already_on_log: number;
  malformed: number;
  out_of_order: number;
  duplicates: number;
  other_streams: number;
  last_errors?: string[];
}

interface Report {
  as_of: string;
  streams: StreamDataset[];
  symbols: SymbolDataset[];
  correlations: SubjectDataset[];
  replay: { finished: boolean; files: ReplayFile[]; total: ReplayFile } | null;
}

const REFRESH_MS = 2000;
const OK = `<span class="up">✓ none</span>`;

/** bytes shows a size in B, KiB, MiB or GiB. */
function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

/** stored shows an ISO time the log stored a message at, as the page shows times. */
function stored(iso?: string): string {
  return iso ? time(Date.parse(iso)) : "—";
}

/** warn marks a problem: the ⚠ and the words say it, the colour only repeats it. */
function warn(text: string, title = ""): string {
  return `<span class="warn"${title ? ` title="${esc(title)}"` : ""}>⚠ ${esc(text)}</span>`;
}

function plural(n: number, one: string, many = one + "s"): string {
  return `${int(n)} ${n === 1 ? one : many}`;
}

/** gapsCell says the holes in a symbol's 1m candles, with the largest and where it starts. */
function gapsCell(a: SymbolCounts | null): string {
  if (!a) return `<span class="dim">— not applied yet</span>`;
  if (!a.candles) return `<span class="dim">no 1m candle yet</span>`;
  if (!a.gaps) return `${OK} <span class="dim">(${plural(a.candles, "candle")})</span>`;
  return `${warn(`${plural(a.gaps, "hole")}, ${plural(a.missing_minutes, "minute")} missing`)}<br><span class="dim">largest ${plural(a.largest_gap, "minute")} from</span> <span data-gap-start>${esc(time(a.largest_gap_start))}</span>`;
}

/** refusedCell says what the symbol actor refused: malformed, duplicate, out-of-order events. */
function refusedCell(a: SymbolCounts | null): string {
  if (!a) return `<span class="dim">—</span>`;
  const parts: string[] = [];
  if (a.malformed) parts.push(`${int(a.malformed)} malformed`);
  if (a.duplicates) parts.push(plural(a.duplicates, "duplicate"));
  if (a.out_of_order) parts.push(`${int(a.out_of_order)} out of order`);
  const applied = `<span class="dim">${plural(a.events, "event")} applied</span>`;
  return (parts.length ? warn(parts.join(" · "), a.last_problem ?? "") : OK) + `<br>${applied}`;
}

function kindOf(d: SubjectDataset): string {
  return d.interval ? `${d.kind} ${d.interval}` : d.kind;
}

export function datasetsPage(root: HTMLElement, live: Live): void {
  const intro = introLine(
    `A dataset here is what the log holds of one symbol: the market data that <code>synapse ingest</code> or a replay put on the MD stream (klines, trades, order-book updates, each under its subject), and the features the symbol actors derived from it on FEAT. Counts and time ranges are read from the log itself; the gaps in the 1m candles and the refused events are what the symbol actors counted as the events passed; the bad lines are what the replay skipped before the log.`,
  );
  const streamsPanel = panel(
    root,
    "ds-streams",
    "The log's streams",
    `${intro}<div class="scroll-x"><table class="pf-table"><thead><tr><th>stream</th><th class="num">messages</th><th class="num">size</th><th class="num">subjects</th><th class="num">sequences</th><th>stored (UTC, machine clock)</th></tr></thead><tbody id="ds-streams-body"><tr class="empty"><td class="dim" colspan="6">loading…</td></tr></tbody></table></div>`,
  );
  const symbolsPanel = panel(
    root,
    "ds-symbols",
    "Market data and features, per symbol",
    `<div class="scroll-x table-wrap"><table class="pf-table"><thead><tr><th>venue</th><th>symbol</th><th>stream</th><th>kind</th><th class="num">count</th><th>first (UTC, market time)</th><th>last (UTC, market time)</th><th>gaps in 1m candles</th><th>refused by the symbol actor</th></tr></thead><tbody id="ds-symbols-body"><tr class="empty"><td class="dim" colspan="9">loading…</td></tr></tbody></table></div>`,
  );
  const replayPanel = panel(
    root,
    "ds-replay",
    "Files replayed onto the log",
    `<div class="scroll-x"><table class="pf-table"><thead><tr><th>file</th><th class="num">put on the log</th><th class="num">already there</th><th>bad lines</th><th class="num">out of order</th><th class="num">duplicates</th></tr></thead><tbody id="ds-replay-body"><tr class="empty"><td class="dim" colspan="6">loading…</td></tr></tbody></table></div>`,
  );
  replayPanel.dataset.actor = "feed"; // the replay is the feed
  let last: Report | null = null;

  function renderStreams(r: Report): void {
    put(
      streamsPanel.querySelector("#ds-streams-body") as HTMLElement,
      r.streams
        .map(
          (s) => `<tr data-stream="${esc(s.name)}" data-actor="stream/${esc(s.name)}"><td title="${esc(s.description)}"><strong>${esc(s.name)}</strong> <span class="dim">${esc(s.description.split(":")[0])}</span></td>
          <td class="num" data-live data-field="messages">${int(s.messages)}</td><td class="num">${esc(bytes(s.bytes))}</td><td class="num">${int(s.subjects)}</td>
          <td class="num">${s.messages ? `${int(s.first_seq)} – ${int(s.last_seq)}` : "—"}</td><td>${s.messages ? `${esc(stored(s.first_stored))} → ${esc(stored(s.last_stored))}` : `<span class="dim">empty</span>`}</td></tr>`,
        )
        .join(""),
    );
  }

  function renderSymbols(r: Report): void {
    const body = symbolsPanel.querySelector("#ds-symbols-body") as HTMLElement;
    if (!r.symbols.length) {
      put(body, `<tr class="empty"><td class="dim" colspan="9">No market data on the log yet: start a replay, a live feed, or <code>synapse ingest</code> files.</td></tr>`);
      return;
    }
    const rows: string[] = [];
    for (const s of r.symbols) {
      s.datasets.forEach((d, i) => {
        const span = s.datasets.length;
        const group = i === 0 ? `<td rowspan="${span}">${esc(s.venue)}</td><td rowspan="${span}"><strong>${esc(s.symbol)}</strong></td>` : "";
        const actor = i === 0 ? `<td rowspan="${span}" data-field="gaps">${gapsCell(s.actor)}</td><td rowspan="${span}" data-field="refused">${refusedCell(s.actor)}</td>` : "";
        rows.push(`<tr data-venue="${esc(s.venue)}" data-symbol="${esc(s.symbol)}" data-subject="${esc(d.subject)}" data-actor="symbol/${esc(s.venue)}/${esc(s.symbol)}">${group}
          <td>${esc(d.stream)}</td><td title="${esc(d.subject)}">${esc(kindOf(d))}</td><td class="num" data-live data-field="count">${int(d.count)}</td>
          <td data-field="first">${esc(time(d.first_time))}</td><td data-field="last">${esc(time(d.last_time))}</td>${actor}</tr>`);
      });
    }
    for (const c of r.correlations) {
      rows.push(`<tr data-subject="${esc(c.subject)}"><td colspan="2" class="dim">pair</td><td>${esc(c.stream)}</td><td title="${esc(c.subject)}">${esc(c.subject.split(".").slice(1, -1).join(" "))} correlation ${esc(c.interval ?? "")}</td>
        <td class="num" data-field="count">${int(c.count)}</td><td data-field="first">${esc(time(c.first_time))}</td><td data-field="last">${esc(time(c.last_time))}</td><td colspan="2"></td></tr>`);
    }
    put(body, rows.join(""));
  }

  function renderReplay(r: Report): void {
    const body = replayPanel.querySelector("#ds-replay-body") as HTMLElement;
    const rp = r.replay;
    if (!rp) {
      put(body, `<tr class="empty"><td class="dim" colspan="6">This engine replays no files (a live or synthetic feed). <code>synapse ingest</code> prints the same counts when it loads files.</td></tr>`);
      return;
    }
    const row = (f: ReplayFile, total = false) => {
      const bad = f.malformed ? warn(plural(f.malformed, "malformed line"), (f.last_errors ?? []).join("\n")) : OK;
      const errs = !total && f.last_errors?.length ? `<br><span class="dim">${esc(f.last_errors[f.last_errors.length - 1])}</span>` : "";
      const name = total ? `<strong>all files${rp.finished ? "" : " (replaying…)"}</strong>` : esc(f.source.split("/").pop() ?? f.source);
      return `<tr${total ? ' class="total"' : ` data-file="${esc(f.source)}"`}><td title="${esc(f.source)}">${name}</td><td class="num">${int(f.records)}</td><td class="num">${int(f.already_on_log)}</td>
        <td data-field="malformed">${bad}${errs}</td><td class="num">${int(f.out_of_order)}</td><td class="num">${int(f.duplicates)}</td></tr>`;
    };
    put(body, rp.files.map((f) => row(f)).join("") + (rp.files.length > 1 ? row(rp.total, true) : ""));
  }

  function render(r: Report): void {
    last = r;
    renderStreams(r);
    renderSymbols(r);
    renderReplay(r);
    const hint = `as of ${time(Date.parse(r.as_of))} · every ${REFRESH_MS / 1000} s`;
    for (const p of [streamsPanel, symbolsPanel, replayPanel]) put(p.querySelector("[data-hint]") as HTMLElement, esc(hint));
    symbolsPanel.dataset.asOf = r.as_of;
  }

  let busy = false;
  async function refresh(): Promise<void> {
    if (busy || document.hidden) return;
    busy = true;
    const msg = streamsPanel.querySelector("[data-msg]") as HTMLElement;
    try {
      render((await query("datasets")) as Report);
      put(msg, "");
      msg.className = "msg";
    } catch (e) {
      if (e instanceof AuthError) window.dispatchEvent(new Event("synapse-auth"));
      msg.className = "msg error";
      put(msg, esc(e instanceof QueryError ? `${e.status}: ${e.detail}` : `the datasets query failed: ${e}`));
    } finally {
      busy = false;
    }
  }

  void refresh();
  setInterval(() => void refresh(), REFRESH_MS);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) void refresh();
  });
  live.onState((s) => {
    if (s === "live" && last) void refresh(); // what was missed while disconnected
  });
  window.__datasets = { report: () => last };
}

function introLine(html: string): string {
  return `<p class="dim ds-intro">${html}</p>`;
}

declare global {
  interface Window {
    __datasets: { report: () => Report | null };
  }
}
