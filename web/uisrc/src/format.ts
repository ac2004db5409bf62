// Formatting helpers: exact decimals arrive as strings and are shown as they are (trailing
// zeros trimmed); floats are rounded for display only.

export function trim(s: unknown): string {
  if (typeof s !== "string") return s === undefined || s === null ? "—" : String(s);
  return s.includes(".") ? s.replace(/\.?0+$/, "") : s;
}

export function num(v: unknown, digits = 2): string {
  if (typeof v !== "number" || !isFinite(v)) return v === undefined || v === null ? "—" : String(v);
  if (Math.abs(v) >= 1e6) return v.toExponential(3);
  return v.toFixed(digits);
}

export function int(v: unknown): string {
  return typeof v === "number" ? Math.round(v).toLocaleString("en-US") : "—";
}

export function time(ms: unknown): string {
  return typeof ms === "number" && ms > 0 ? new Date(ms).toISOString().replace("T", " ").slice(0, 19) + " UTC" : "—";
}

export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** h builds an element: h("div", "card", "text") or with children. */
export function h(tag: string, cls = "", text?: string): HTMLElement {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** summary lists the scalar fields of a topic's value as [key, shown value] rows. */
export function summary(data: any, max = 10): [string, string][] {
  const out: [string, string][] = [];
  if (!data || typeof data !== "object") return out;
  for (const [k, v] of Object.entries(data)) {
    if (out.length >= max) break;
    if (typeof v === "number") out.push([k, k.endsWith("time") ? time(v) : Number.isInteger(v) ? int(v) : num(v, 4)]);
    else if (typeof v === "string") out.push([k, trim(v)]);
    else if (typeof v === "boolean") out.push([k, v ? "yes" : "no"]);
    else if (v && typeof v === "object" && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v)) {
        if (out.length >= max) break;
        if (typeof v2 === "number") out.push([`${k}.${k2}`, k2.endsWith("time") ? time(v2) : Number.isInteger(v2) ? int(v2) : num(v2, 4)]);
      }
    }
  }
  return out;
}

/** put sets an element's HTML only when it differs from what put set last (live views
 * arrive several times a second; most of what they show is unchanged). */
export function put(el: HTMLElement, html: string): void {
  const e = el as HTMLElement & { _html?: string };
  if (e._html === html) return;
  e._html = html;
  e.innerHTML = html;
}

export function dl(rows: [string, string][]): string {
  return `<dl>${rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join("")}</dl>`;
}

// Exact decimals: money and quantities arrive as decimal strings and are never turned into
// floats for display. These helpers only move digits around (BigInt where arithmetic is
// needed), so what is shown is exactly what the engine computed.

interface Dec {
  n: bigint; // the digits, signed
  scale: number; // digits after the point
}

const DEC_RE = /^([+-]?)(\d*)(?:\.(\d*))?$/;

/** parseDec reads "-12.340" as {n: -12340n, scale: 3}; null when s is not a plain decimal. */
export function parseDec(s: unknown): Dec | null {
  if (typeof s !== "string") return null;
  const m = DEC_RE.exec(s.trim());
  if (!m || (m[2] === "" && (m[3] ?? "") === "")) return null;
  const frac = m[3] ?? "";
  const n = BigInt((m[2] || "0") + frac);
  return { n: m[1] === "-" ? -n : n, scale: frac.length };
}

function pow10(k: number): bigint {
  return 10n ** BigInt(k);
}

/** decString writes n / 10^scale with exactly `scale` decimals (no exponent, no float). */
function decString(n: bigint, scale: number): string {
  const neg = n < 0n;
  const digits = (neg ? -n : n).toString().padStart(scale + 1, "0");
  const int = digits.slice(0, digits.length - scale);
  const frac = scale > 0 ? "." + digits.slice(digits.length - scale) : "";
  return (neg ? "-" : "") + int + frac;
}

/** roundDec rounds d to `digits` decimals, half away from zero. */
function roundDec(d: Dec, digits: number): Dec {
  if (d.scale <= digits) return { n: d.n * pow10(digits - d.scale), scale: digits };
  const div = pow10(d.scale - digits);
  const neg = d.n < 0n;
  const a = neg ? -d.n : d.n;
  let q = a / div;
  if ((a % div) * 2n >= div) q += 1n;
  return { n: neg ? -q : q, scale: digits };
}

/** sumDec adds decimal strings exactly (BigInt), as a plain decimal string with the largest
 * scale among them ("10000" + "-0.125" = "9999.875"); what is not a decimal counts as 0. */
export function sumDec(list: unknown[]): string {
  const ds = list.map(parseDec).filter((d): d is Dec => d !== null);
  const scale = ds.reduce((m, d) => Math.max(m, d.scale), 0);
  const n = ds.reduce((a, d) => a + d.n * pow10(scale - d.scale), 0n);
  return decString(n, scale);
}

/** group puts thousands separators into the integer part of a decimal string. */
function group(s: string): string {
  const neg = s.startsWith("-");
  const [int, frac] = (neg ? s.slice(1) : s).split(".");
  const g = int.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return (neg ? "−" : "") + g + (frac !== undefined ? "." + frac : "");
}

/** sign is -1, 0 or 1 for a decimal string (0 for anything unreadable). */
export function sign(s: unknown): number {
  const d = parseDec(s);
  return !d || d.n === 0n ? 0 : d.n < 0n ? -1 : 1;
}

/** money shows a decimal string exactly (trailing zeros trimmed, thousands grouped) as
 * HTML: the digits past the second decimal are dimmed, none are dropped. */
export function money(s: unknown): string {
  const d = parseDec(s);
  if (!d) return esc(trim(s));
  const t = group(trim(decString(d.n, d.scale)));
  const dot = t.indexOf(".");
  if (dot < 0 || t.length - dot - 1 <= 2) return esc(t);
  return `${esc(t.slice(0, dot + 3))}<span class="more">${esc(t.slice(dot + 3))}</span>`;
}

/** exact is a decimal string as text: trailing zeros trimmed, thousands grouped. */
export function exact(s: unknown): string {
  const d = parseDec(s);
  return d ? group(trim(decString(d.n, d.scale))) : trim(s);
}

/** percentOf turns a fraction ("-0.001448") into a percentage ("-0.1448") by moving the
 * point: exact, no rounding; "" when s is not a decimal. */
export function percentOf(s: unknown): string {
  const d = parseDec(s);
  if (!d) return "";
  const p: Dec = d.scale >= 2 ? { n: d.n, scale: d.scale - 2 } : { n: d.n * pow10(2 - d.scale), scale: 0 };
  return trim(decString(p.n, p.scale));
}

/** percent shows a fraction ("0.001718") as a percentage ("0.1718 %"), exactly. */
export function percent(s: unknown): string {
  const p = percentOf(s);
  return p === "" ? "—" : `${exact(p)} %`;
}

/** returnPct is (equity − capital) / capital in percent, rounded to `digits` decimals and
 * computed exactly, as a plain decimal string ("-0.1448"); "" without a positive capital. */
export function returnPct(equity: unknown, capital: unknown, digits = 4): string {
  const e = parseDec(equity);
  const c = parseDec(capital);
  if (!e || !c || c.n <= 0n) return "";
  const s = Math.max(e.scale, c.scale);
  const E = e.n * pow10(s - e.scale);
  const C = c.n * pow10(s - c.scale);
  // ((E − C) / C) × 100 truncated to one decimal more than wanted, then rounded: exact,
  // since truncation never moves a value across the half-way point of the last digit
  const extra = digits + 1;
  const q = ((E - C) * 100n * pow10(extra)) / C;
  const r = roundDec({ n: q, scale: extra }, digits);
  return decString(r.n, r.scale);
}

/** pct shows a percentage decimal string ("-0.1448") as "▼ −0.1448 %" (sign as text). */
export function pct(s: string): string {
  return s === "" ? "—" : `${arrow(s)}${exact(s)} %`;
}

/** signed prefixes a value with ▲ or ▼ by the sign of s (text, not colour alone). */
export function arrow(s: unknown): string {
  const g = sign(s);
  return g > 0 ? "▲ " : g < 0 ? "▼ " : "";
}

/** upDown is the CSS class for the sign of s. */
export function upDown(s: unknown): string {
  const g = sign(s);
  return g > 0 ? "up" : g < 0 ? "down" : "";
}
