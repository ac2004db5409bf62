// The neural view: the "graph" topic drawn on a canvas as neurons (nodes, layered by kind)
// and synapses (edges) with pulses whose rate follows each edge's real message rate. A page
// emphasises the neurons of the actors it shows (the others are dimmed, still drawn and
// hoverable), and the neurons a hovered panel shows are ringed (highlight).
// What changes only with the graph or the view is painted into two offscreen layers; a frame
// blits them and draws what moves (pulses, glows) with pre-rendered sprites, allocating nothing.

export interface GNode {
  id: string;
  kind: string;
  label: string;
  count: number;
  rate: number;
  load: number;
  topic?: string;
  status?: string;
}
export interface GEdge {
  from: string;
  to: string;
  count: number;
  rate: number;
}
export interface Topology {
  time?: number;
  nodes: GNode[];
  edges: GEdge[];
}

/** A node placed in world coordinates. */
interface Placed {
  node: GNode;
  x: number;
  y: number;
  r: number;
  style: string; // styleOf(node): colour and shape
  sprite: HTMLCanvasElement;
  activity: number; // decays towards the node's rate-derived activity
  dim: boolean; // not among the page's actors (and not highlighted): drawn faint
  lit: boolean; // highlighted: shown by the panel under the pointer
}
interface PlacedEdge {
  edge: GEdge;
  a: Placed;
  b: Placed;
  pulses: number; // pulses on the edge at once
  phase: number; // per-edge offset so pulses do not march in step
  dim: boolean; // one of its ends is dimmed
}

const KIND_COLOR: Record<string, string> = {
  feed: "#7aa2ff",
  stream: "#5ee7ff",
  router: "#b892ff",
  symbol: "#3ddc97",
  pair: "#ffd166",
  model: "#ff8fab",
  ensemble: "#ff6bd6",
  batcher: "#f7a072",
  runtime: "#c0c8e0",
  gateway: "#9ab6ff",
  agent: "#a3e635",
  risk: "#ff5d5d",
  venue: "#2dd4bf",
  ord: "#5ee7ff",
};

/** KIND_SHAPE: the trading tier is told apart by shape as well as colour (a hexagon per
 * agent, a diamond for the risk gate, a square per venue, a double ring for ORD). */
const KIND_SHAPE: Record<string, "hexagon" | "diamond" | "square" | "double"> = {
  agent: "hexagon",
  risk: "diamond",
  venue: "square",
  ord: "double",
};

/** LEGEND lists the node styles with the symbol of their shape, for the page's legend. */
export const LEGEND: { style: string; symbol: string; label: string }[] = [
  { style: "feed", symbol: "●", label: "feed" },
  { style: "stream", symbol: "●", label: "stream" },
  { style: "router", symbol: "●", label: "router" },
  { style: "symbol", symbol: "●", label: "symbol" },
  { style: "pair", symbol: "●", label: "pair" },
  { style: "model", symbol: "●", label: "model" },
  { style: "ensemble", symbol: "●", label: "ensemble" },
  { style: "batcher", symbol: "●", label: "batcher" },
  { style: "runtime", symbol: "●", label: "runtime" },
  { style: "agent", symbol: "⬢", label: "agent" },
  { style: "risk", symbol: "◆", label: "risk gate" },
  { style: "venue", symbol: "■", label: "venue" },
  { style: "ord", symbol: "◎", label: "ORD (orders)" },
];

/** styleOf is the drawing style of a node: its kind, but the ORD stream has its own. */
export function styleOf(n: GNode): string {
  return n.kind === "stream" && n.label === "ORD" ? "ord" : n.kind;
}

/** shapePath adds the outline of a node of a style, centred at x, y, to the current path. */
function shapePath(g: CanvasRenderingContext2D, x: number, y: number, r: number, style: string): void {
  switch (KIND_SHAPE[style]) {
    case "hexagon": {
      const R = r * 1.12;
      g.moveTo(x + R, y);
      for (let i = 1; i < 6; i++) g.lineTo(x + R * Math.cos((i * Math.PI) / 3), y + R * Math.sin((i * Math.PI) / 3));
      g.closePath();
      return;
    }
    case "diamond": {
      const R = r * 1.3;
      g.moveTo(x, y - R);
      g.lineTo(x + R, y);
      g.lineTo(x, y + R);
      g.lineTo(x - R, y);
      g.closePath();
      return;
    }
    case "square": {
      const R = r * 0.9;
      g.rect(x - R, y - R, 2 * R, 2 * R);
      return;
    }
    case "double":
      g.moveTo(x + r, y);
      g.arc(x, y, r, 0, 6.2832);
      g.moveTo(x + r * 0.55, y);
      g.arc(x, y, r * 0.55, 0, 6.2832);
      return;
    default:
      g.moveTo(x + r, y);
      g.arc(x, y, r, 0, 6.2832);
  }
}

/** layer gives the column of a node: feed → MD → router → symbols → pairs → FEAT → models →
 * batcher/ensemble → runtime → SIG → agents → risk gate → venues → ORD. */
export function layer(n: GNode): number {
  switch (n.kind) {
    case "feed":
      return 0;
    case "router":
      return 2;
    case "symbol":
      return 3;
    case "pair":
      return 4;
    case "model":
      return 6;
    case "batcher":
    case "ensemble":
      return 7;
    case "runtime":
      return 8;
    case "agent":
      return 10;
    case "risk":
      return 11;
    case "venue":
      return 12;
    case "stream":
      if (n.label === "MD") return 1;
      if (n.label === "SIG") return 9;
      if (n.label === "ORD") return 13;
      return 5;
    default:
      return 5;
  }
}
const LAYERS = 14;
const TRAVEL_S = 1.4; // seconds a pulse takes along an edge
const DIM = 0.22; // the opacity of what is dimmed
const DIMMED_FIRST = [true, false]; // the dimmed pass, then the others (one array for every frame)

/** pulsesFor maps a message rate (per second) to pulses shown on one edge: log-scaled, capped. */
export function pulsesFor(rate: number): number {
  if (!(rate > 0)) return 0;
  return Math.min(6, 1 + Math.floor(Math.log10(1 + rate) * 1.5));
}

function sprite(color: string, size: number): HTMLCanvasElement {
  const c = document.createElement("canvas");
  c.width = c.height = size;
  const g = c.getContext("2d")!;
  const h = size / 2;
  const grad = g.createRadialGradient(h, h, 0, h, h, h);
  grad.addColorStop(0, color);
  grad.addColorStop(0.25, color + "aa");
  grad.addColorStop(1, color + "00");
  g.fillStyle = grad;
  g.fillRect(0, 0, size, size);
  return c;
}

export interface NeuralOptions {
  reducedMotion: boolean;
  onHover: (n: GNode | null, clientX: number, clientY: number) => void;
  onClick: (n: GNode) => void;
}

export class NeuralView {
  private ctx: CanvasRenderingContext2D;
  private placed: Placed[] = [];
  private byId = new Map<string, Placed>();
  private edges: PlacedEdge[] = [];
  private bodies = new Map<string, HTMLCanvasElement>(); // body sprites by style and size
  // what changes only with the graph or the view, drawn once into two layers (paintLayers)
  private under = document.createElement("canvas");
  private over = document.createElement("canvas");
  private stale = true; // the layers must be repainted before the next frame
  private painted = { scale: 0, ox: 0, oy: 0 }; // the view the layers were painted for
  private view = { x0: 0, y0: 0, x1: 0, y1: 0 }; // the world on screen (visible)
  private sprites = new Map<string, HTMLCanvasElement>();
  private widths = new Map<string, number>(); // label widths in the labels' font
  private top: Topology = { nodes: [], edges: [] };
  private frozen = false;
  private shows: ((n: GNode) => boolean) | null = null; // the page's actors (null: every neuron)
  private lit = new Set<string>(); // the highlighted neurons' IDs
  // view transform: screen = world * scale + offset (CSS pixels)
  private scale = 1;
  private ox = 0;
  private oy = 0;
  private fitted = false;
  private w = 0;
  private h = 0;
  // the world's width: 1000, or wider on a wide canvas, so that the columns spread over it
  // instead of crowding the middle with their labels overlapping
  private worldW = 1000;
  private dpr = 1;
  private hover: Placed | null = null;
  private drag: { x: number; y: number; ox: number; oy: number; moved: boolean } | null = null;
  private frames = 0;
  private drawn = 0;
  private raf = 0;

  constructor(private canvas: HTMLCanvasElement, private opts: NeuralOptions) {
    this.ctx = canvas.getContext("2d", { alpha: true })!;
    for (const [k, c] of Object.entries(KIND_COLOR)) this.sprites.set(k, sprite(c, 48));
    this.sprites.set("other", sprite("#8a97bd", 48));
    new ResizeObserver(() => this.resize()).observe(canvas);
    this.resize();
    canvas.addEventListener("pointerdown", (e) => this.pointerDown(e));
    canvas.addEventListener("pointermove", (e) => this.pointerMove(e));
    canvas.addEventListener("pointerup", (e) => this.pointerUp(e));
    canvas.addEventListener("pointerleave", () => {
      this.hover = null;
      this.opts.onHover(null, 0, 0);
    });
    canvas.addEventListener("wheel", (e) => this.wheel(e), { passive: false });
    const loop = (t: number) => {
      this.raf = requestAnimationFrame(loop); // first: a frame that throws does not end the loop
      this.frame(t);
    };
    this.raf = requestAnimationFrame(loop);
  }

  /** set replaces the graph (from the "graph" topic), keeping positions stable. */
  set(top: Topology, force = false): void {
    if (this.frozen && !force) return;
    this.top = top;
    const old = this.byId;
    this.byId = new Map();
    this.placed = [];
    const cols: GNode[][] = [];
    for (let i = 0; i < LAYERS; i++) cols.push([]);
    for (const n of top.nodes) cols[layer(n)].push(n);
    const colW = 1; // in columns: x is scaled to the world's width below
    for (let c = 0; c < LAYERS; c++) {
      const col = cols[c];
      col.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      // a crowded layer wraps into sub-columns of at most 36 neurons
      const sub = Math.ceil(col.length / 36);
      const rows = Math.ceil(col.length / Math.max(1, sub));
      const gap = Math.max(12, Math.min(90, 560 / Math.max(1, rows)));
      const subW = sub > 1 ? (colW * 0.8) / (sub - 1) : 0;
      const y0 = 300 - (gap * (rows - 1)) / 2;
      col.forEach((n, i) => {
        const prev = old.get(n.id);
        const j = Math.floor(i / rows);
        const style = styleOf(n);
        const p: Placed = {
          node: n,
          x: colW * c + colW / 2 + (sub > 1 ? j * subW - colW * 0.4 : 0),
          // odd sub-columns shift half a row so neighbours do not line up
          y: y0 + gap * (i % rows) + (j % 2 ? gap / 2 : 0),
          r: Math.max(3, Math.min(14, gap * 0.28, sub > 1 ? subW * (1000 / LAYERS) * 0.3 : 14)) + (n.kind === "router" || n.kind === "batcher" ? 3 : 0),
          style,
          sprite: this.sprites.get(style) ?? this.sprites.get("other")!,
          activity: prev ? prev.activity : 0,
          dim: false,
          lit: false,
        };
        this.placed.push(p);
        this.byId.set(n.id, p);
      });
    }
    this.worldW = this.widthFor(this.placed);
    for (const p of this.placed) p.x *= this.worldW / LAYERS;
    this.edges = [];
    let k = 0;
    for (const e of top.edges) {
      const a = this.byId.get(e.from);
      const b = this.byId.get(e.to);
      if (!a || !b) continue;
      this.edges.push({ edge: e, a, b, pulses: pulsesFor(e.rate), phase: (k++ * 0.618) % 1, dim: false });
    }
    if (this.hover) this.hover = this.byId.get(this.hover.node.id) ?? null;
    this.restyle();
    if (!this.fitted && this.placed.length > 0) this.fit();
  }

  /** freeze stops live updates replacing the graph (the synthetic-graph test uses it). */
  freeze(on: boolean): void {
    this.frozen = on;
  }

  /** emphasise draws the neurons shows picks as they are and dims the others (null: none
   * dimmed); it holds for the graphs set after it too. */
  emphasise(shows: ((n: GNode) => boolean) | null): void {
    this.shows = shows;
    this.restyle();
  }

  /** highlight rings the neurons of these IDs (drawn undimmed): those a hovered panel shows. */
  highlight(ids: string[]): void {
    if (ids.length === this.lit.size && ids.every((id) => this.lit.has(id))) return;
    this.lit = new Set(ids);
    this.restyle();
  }

  /** restyle marks each neuron and synapse dimmed or highlighted, for the next frame. */
  private restyle(): void {
    for (const p of this.placed) {
      p.lit = this.lit.has(p.node.id);
      p.dim = !p.lit && this.shows !== null && !this.shows(p.node);
    }
    for (const e of this.edges) e.dim = e.a.dim || e.b.dim;
    this.stale = true;
  }

  /** heightOf is the height of the world the placed neurons span, with room for labels. */
  private heightOf(placed: Placed[]): { minY: number; maxY: number; worldH: number } {
    let minY = Infinity,
      maxY = -Infinity;
    for (const p of placed) {
      minY = Math.min(minY, p.y);
      maxY = Math.max(maxY, p.y);
    }
    return { minY, maxY, worldH: Math.max(200, maxY - minY + 110) }; // room for two-line labels
  }

  /** widthFor is the world's width for the canvas's shape: as wide as the canvas is, relative
   * to the graph's height, between 1000 and 2600. */
  private widthFor(placed: Placed[]): number {
    if (this.w === 0 || this.h === 0 || placed.length === 0) return 1000;
    return Math.max(1000, Math.min(2600, (this.heightOf(placed).worldH * this.w) / this.h));
  }

  fit(): void {
    if (this.w === 0 || this.placed.length === 0) return;
    const { minY, maxY, worldH } = this.heightOf(this.placed);
    this.scale = Math.min(this.w / this.worldW, this.h / worldH);
    this.ox = (this.w - this.worldW * this.scale) / 2;
    this.oy = this.h / 2 - ((minY + maxY) / 2) * this.scale;
    this.fitted = true;
  }

  /** graph is the graph shown and its neurons on screen: where (client coordinates), and
   * whether each is dimmed (not among the page's actors) or highlighted. */
  graph(): { nodes: GNode[]; edges: GEdge[]; drawnNodes: { id: string; kind: string; label: string; x: number; y: number; r: number; dim: boolean; lit: boolean }[] } {
    const rect = this.canvas.getBoundingClientRect();
    const drawnNodes = [];
    for (const p of this.placed) {
      const x = p.x * this.scale + this.ox;
      const y = p.y * this.scale + this.oy;
      if (x < -20 || y < -20 || x > this.w + 20 || y > this.h + 20) continue;
      drawnNodes.push({ id: p.node.id, kind: p.node.kind, label: p.node.label, x: rect.left + x, y: rect.top + y, r: p.r * this.scale, dim: p.dim, lit: p.lit });
    }
    return { nodes: this.top.nodes, edges: this.top.edges, drawnNodes };
  }

  /** frameCount is the number of frames drawn since the view started. */
  frameCount(): number {
    return this.frames;
  }

  private resize(): void {
    const r = this.canvas.getBoundingClientRect();
    this.dpr = Math.min(2, window.devicePixelRatio || 1);
    this.bodies.clear(); // their outlines are drawn for a pixel ratio
    this.stale = true;
    this.w = r.width;
    this.h = r.height;
    this.canvas.width = Math.round(r.width * this.dpr);
    this.canvas.height = Math.round(r.height * this.dpr);
    this.fitted = false;
    if (this.placed.length > 0 && this.widthFor(this.placed) !== this.worldW) this.set(this.top, true); // lay it out for the new shape
    this.fit();
  }

  private nodeAt(clientX: number, clientY: number): Placed | null {
    const rect = this.canvas.getBoundingClientRect();
    const wx = (clientX - rect.left - this.ox) / this.scale;
    const wy = (clientY - rect.top - this.oy) / this.scale;
    let best: Placed | null = null;
    let bestD = Infinity;
    for (const p of this.placed) {
      const d = (p.x - wx) ** 2 + (p.y - wy) ** 2;
      const reach = p.r + 6 / this.scale;
      if (d < reach * reach && d < bestD) {
        best = p;
        bestD = d;
      }
    }
    return best;
  }

  private pointerDown(e: PointerEvent): void {
    this.drag = { x: e.clientX, y: e.clientY, ox: this.ox, oy: this.oy, moved: false };
    this.canvas.setPointerCapture?.(e.pointerId);
  }
  private pointerMove(e: PointerEvent): void {
    if (this.drag) {
      const dx = e.clientX - this.drag.x;
      const dy = e.clientY - this.drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 4) this.drag.moved = true;
      if (this.drag.moved) {
        this.ox = this.drag.ox + dx;
        this.oy = this.drag.oy + dy;
        return;
      }
    }
    const p = this.nodeAt(e.clientX, e.clientY);
    this.hover = p;
    this.canvas.style.cursor = p ? "pointer" : "grab";
    this.opts.onHover(p ? p.node : null, e.clientX, e.clientY);
  }
  private pointerUp(e: PointerEvent): void {
    const d = this.drag;
    this.drag = null;
    if (d && !d.moved) {
      const p = this.nodeAt(e.clientX, e.clientY);
      if (p) this.opts.onClick(p.node);
    }
  }
  private wheel(e: WheelEvent): void {
    e.preventDefault();
    const rect = this.canvas.getBoundingClientRect();
    const mx = e.clientX - rect.left;
    const my = e.clientY - rect.top;
    const f = Math.exp(-e.deltaY * 0.0015);
    const s = Math.max(0.1, Math.min(12, this.scale * f));
    const k = s / this.scale;
    this.ox = mx - (mx - this.ox) * k;
    this.oy = my - (my - this.oy) * k;
    this.scale = s;
  }

  /** frame draws one animation frame: the cached layers, with what moves (pulses, glows,
   * the hover ring) between and over them. */
  private frame(t: number): void {
    this.frames++;
    if (this.canvas.width === 0 || this.canvas.height === 0) return; // not laid out (or hidden)
    const g = this.ctx;
    const motion = !this.opts.reducedMotion;
    const s = this.scale;
    if (this.stale || s !== this.painted.scale || this.ox !== this.painted.ox || this.oy !== this.painted.oy) this.paintLayers();
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.clearRect(0, 0, this.canvas.width, this.canvas.height);
    g.drawImage(this.under, 0, 0);
    g.setTransform(this.dpr * s, 0, 0, this.dpr * s, this.dpr * this.ox, this.dpr * this.oy);

    // pulses travelling each active synapse: a path of small squares (cheaper than arcs),
    // one for the dimmed synapses and one for the others
    if (motion) {
      g.fillStyle = "#e8f0ff";
      const pr = 2.2 / Math.sqrt(s);
      const pd = pr * 2;
      const base = t / 1000 / TRAVEL_S;
      for (const dim of DIMMED_FIRST) {
        g.globalAlpha = dim ? DIM : 1;
        g.beginPath();
        for (const e of this.edges) {
          if (e.dim !== dim) continue;
          const n = e.pulses;
          for (let i = 0; i < n; i++) {
            let f = base + e.phase + i / n;
            f -= Math.floor(f);
            g.rect(e.a.x + (e.b.x - e.a.x) * f - pr, e.a.y + (e.b.y - e.a.y) * f - pr, pd, pd);
          }
        }
        g.fill();
      }
    }

    // neurons: glow by load and activity (a pre-rendered sprite); their bodies are in the
    // layer drawn over the glows
    let drawn = 0;
    const { x0, y0, x1, y1 } = this.visible();
    for (const p of this.placed) {
      if (p.x < x0 || p.x > x1 || p.y < y0 || p.y > y1) continue;
      drawn++;
      const n = p.node;
      const target = Math.min(1, Math.log10(1 + n.rate) / 3);
      p.activity += (target - p.activity) * 0.05;
      const act = motion ? p.activity : target;
      const pulse = motion ? 0.08 * Math.sin(t / 400 + p.x) * act : 0;
      const glow = 0.25 + 0.45 * Math.max(n.load, act) + pulse;
      const gr = p.r * (2.2 + 1.6 * Math.max(n.load, act));
      g.globalAlpha = Math.min(1, glow) * (p.dim ? DIM : 1);
      g.drawImage(p.sprite, p.x - gr, p.y - gr, gr * 2, gr * 2);
    }
    g.globalAlpha = 1;
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.drawImage(this.over, 0, 0);
    g.setTransform(this.dpr * s, 0, 0, this.dpr * s, this.dpr * this.ox, this.dpr * this.oy);
    if (this.lit.size > 0) {
      // the neurons the hovered panel shows: a ring in the accent colour with a soft halo,
      // breathing with motion
      g.strokeStyle = "#7aa2ff";
      g.beginPath();
      const grow = (motion ? 8 + 2 * Math.sin(t / 250) : 8) / s;
      for (const p of this.placed) {
        if (!p.lit) continue;
        g.moveTo(p.x + p.r + grow, p.y);
        g.arc(p.x, p.y, p.r + grow, 0, 6.2832);
      }
      g.globalAlpha = 0.3;
      g.lineWidth = 9 / s;
      g.stroke();
      g.globalAlpha = 1;
      g.lineWidth = 2.5 / s;
      g.stroke();
    }
    if (this.hover) {
      g.strokeStyle = "#ffffff";
      g.lineWidth = 2 / s;
      g.beginPath();
      g.arc(this.hover.x, this.hover.y, this.hover.r + 5 / s, 0, 6.2832);
      g.stroke();
    }
    this.drawn = drawn;
  }

  /** visible sets view to the part of the world on screen, with a margin. */
  private visible(): { x0: number; y0: number; x1: number; y1: number } {
    const v = this.view;
    const s = this.scale;
    v.x0 = -this.ox / s - 30;
    v.y0 = -this.oy / s - 30;
    v.x1 = (this.w - this.ox) / s + 30;
    v.y1 = (this.h - this.oy) / s + 30;
    return v;
  }

  /** paintLayers redraws what changes only with the graph or the view into two offscreen
   * layers: the synapses under the glows, the bodies, load arcs and labels over them. The
   * frames in between only blit them (stroking ~700 synapses and 300 outlines every frame
   * kept the renderer's main thread ~70 % busy at 60 fps with a 300-neuron graph). */
  private paintLayers(): void {
    this.stale = false;
    this.painted.scale = this.scale;
    this.painted.ox = this.ox;
    this.painted.oy = this.oy;
    const s = this.scale;
    const k = this.dpr * s;
    for (const c of [this.under, this.over]) {
      if (c.width !== this.canvas.width || c.height !== this.canvas.height) {
        c.width = this.canvas.width;
        c.height = this.canvas.height;
      }
    }
    const { x0, y0, x1, y1 } = this.visible();

    // under: synapses, idle ones dim, active ones brighter, in two batched paths
    let g = this.under.getContext("2d")!;
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.clearRect(0, 0, this.under.width, this.under.height);
    g.setTransform(k, 0, 0, k, this.dpr * this.ox, this.dpr * this.oy);
    for (const dim of DIMMED_FIRST) {
      g.globalAlpha = dim ? DIM : 1;
      g.lineWidth = 1 / s;
      g.strokeStyle = "rgba(120,140,200,0.18)";
      g.beginPath();
      for (const e of this.edges) {
        if (e.edge.rate > 0 || e.dim !== dim) continue;
        g.moveTo(e.a.x, e.a.y);
        g.lineTo(e.b.x, e.b.y);
      }
      g.stroke();
      g.lineWidth = 1.6 / s;
      g.strokeStyle = "rgba(122,162,255,0.45)";
      g.beginPath();
      for (const e of this.edges) {
        if (!(e.edge.rate > 0) || e.dim !== dim) continue;
        g.moveTo(e.a.x, e.a.y);
        g.lineTo(e.b.x, e.b.y);
      }
      g.stroke();
    }
    g.globalAlpha = 1;

    // over: bodies, a sprite per style and on-screen size placed on whole device pixels
    g = this.over.getContext("2d")!;
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.clearRect(0, 0, this.over.width, this.over.height);
    let drawn = 0;
    for (const p of this.placed) {
      if (p.x < x0 || p.x > x1 || p.y < y0 || p.y > y1) continue;
      drawn++;
      const b = this.body(p.style, p.r * k);
      g.globalAlpha = p.dim ? DIM : 1;
      g.drawImage(b, Math.round((p.x * s + this.ox) * this.dpr - b.width / 2), Math.round((p.y * s + this.oy) * this.dpr - b.height / 2));
    }
    g.globalAlpha = 1;
    // load as an arc around the neuron (a shape, not only a colour): amber, red above 80%
    g.setTransform(k, 0, 0, k, this.dpr * this.ox, this.dpr * this.oy);
    g.lineWidth = 1.5 / s;
    for (let hot = 0; hot < 4; hot++) {
      g.strokeStyle = hot & 1 ? "#ff6b81" : "#ffd166";
      g.globalAlpha = hot & 2 ? DIM : 1; // the dimmed neurons' arcs apart
      g.beginPath();
      for (const p of this.placed) {
        const l = p.node.load;
        if (!(l > 0) || l > 0.8 !== ((hot & 1) === 1) || p.dim !== ((hot & 2) === 2) || p.x < x0 || p.x > x1 || p.y < y0 || p.y > y1) continue;
        const rr = p.r + 3 / s;
        g.moveTo(p.x, p.y - rr);
        g.arc(p.x, p.y, rr, -1.5708, -1.5708 + 6.2832 * Math.min(1, l));
      }
      g.stroke();
    }
    g.globalAlpha = 1;
    // labels when legible: fewer than 80 neurons on screen, or zoomed in
    if (drawn < 80 || s > 2) {
      g.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
      g.font = "11px system-ui, sans-serif";
      g.textAlign = "center";
      g.fillStyle = "rgba(230,236,255,0.85)";
      const colW = (this.worldW / LAYERS) * s * 0.92; // a column's width on screen
      for (const p of this.placed) {
        if (p.x < x0 || p.x > x1 || p.y < y0 || p.y > y1) continue;
        g.globalAlpha = p.dim ? DIM * 1.6 : 1; // a dimmed neuron's label stays just legible
        // pairs sit in the column beside the symbols: their labels go above, the others' below
        const kind = p.node.kind;
        const above = kind === "pair";
        const dy = KIND_SHAPE[p.style] === "diamond" ? p.r * 0.3 : 0;
        const x = p.x * s + this.ox;
        let y = above ? (p.y - p.r - dy) * s + this.oy - 6 : (p.y + p.r + dy) * s + this.oy + 13;
        // a label wider than its column breaks at its last space ("ONNX Runtime" / "1.24.1")
        const label = p.node.label;
        const sp = label.lastIndexOf(" ");
        if (sp > 0 && this.textWidth(label, g) > colW) {
          g.fillText(label.slice(0, sp), x, above ? y - 12 : y);
          y += above ? 0 : 12;
          g.fillText(label.slice(sp + 1), x, y);
        } else {
          g.fillText(label, x, y);
        }
        // an agent's state and the kill switch are written under the name (not colour alone)
        if (p.node.status && (kind === "agent" || kind === "risk")) {
          g.fillStyle = "#ffb3bf";
          g.fillText(p.node.status.toUpperCase(), x, y + 12);
          g.fillStyle = "rgba(230,236,255,0.85)";
        }
      }
      g.globalAlpha = 1;
    }
  }

  /** body is the sprite of a neuron's body (dark fill, outline in its style) at a radius in
   * device pixels, rounded to half a pixel; drawn once per style and size, then reused. */
  private body(style: string, devR: number): HTMLCanvasElement {
    const r = Math.max(1, Math.round(devR * 2) / 2);
    const key = style + "|" + r;
    let c = this.bodies.get(key);
    if (c) return c;
    if (this.bodies.size > 256) this.bodies.clear(); // zooming makes new sizes; keep a bounded set
    const lw = (KIND_SHAPE[style] ? 2.2 : 1.5) * this.dpr;
    const half = Math.ceil(r * 1.3 + lw + 1);
    c = document.createElement("canvas");
    c.width = c.height = half * 2;
    const g = c.getContext("2d")!;
    g.beginPath();
    shapePath(g, half, half, r, style);
    g.fillStyle = "#0b1122";
    g.fill();
    g.strokeStyle = KIND_COLOR[style] ?? "#8a97bd";
    g.lineWidth = lw;
    g.stroke();
    this.bodies.set(key, c);
    return c;
  }

  /** textWidth measures a label in the labels' font (set on g), once per label. */
  private textWidth(label: string, g: CanvasRenderingContext2D): number {
    let w = this.widths.get(label);
    if (w === undefined) {
      w = g.measureText(label).width;
      if (this.widths.size > 2000) this.widths.clear();
      this.widths.set(label, w);
    }
    return w;
  }

  drawnCount(): number {
    return this.drawn;
  }
}
