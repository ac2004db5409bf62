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

export function dl(rows: [string, string][]): string {
  return `<dl>${rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join("")}</dl>`;
}
