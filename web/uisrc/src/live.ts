// Live state: one websocket to /ws carrying the hub topics a page reads (?topics=, the
// prefixes it names), reconnected with backoff and the same topics, and the latest value of
// each topic kept here for the pages to read.

export type WSState = "connecting" | "live" | "reconnecting";

export type Listener = (topic: string, data: any) => void;

export class Live {
  readonly topics = new Map<string, any>();
  state: WSState = "connecting";
  /** Seconds until the next reconnect attempt, while reconnecting. */
  retryIn = 0;
  /** How many times the socket was (re)opened. */
  opened = 0;
  private ws: WebSocket | null = null;
  private backoff = 500;
  private listeners: { prefix: string; fn: Listener }[] = [];
  private stateListeners: ((s: WSState) => void)[] = [];

  /** prefixes are the topics subscribed to: every topic whose name starts with one. */
  constructor(readonly prefixes: string[]) {}

  /** url is the websocket's address, with the topics. */
  get url(): string {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    return `${proto}//${location.host}/ws?topics=${this.prefixes.join(",")}`;
  }

  /** subscribes says whether topic is among the topics subscribed to. */
  subscribes(topic: string): boolean {
    return this.prefixes.some((p) => topic.startsWith(p));
  }

  start(): void {
    this.connect();
  }

  /** on calls fn with every update of a topic starting with prefix (and once now per known topic). */
  on(prefix: string, fn: Listener): void {
    // a page listening to topics it does not subscribe to would wait for them forever
    if (!this.subscribes(prefix)) console.error(`live.on("${prefix}"): not among the page's topics (${this.prefixes.join(",")})`);
    this.listeners.push({ prefix, fn });
    for (const [t, d] of this.topics) if (t.startsWith(prefix)) fn(t, d);
  }

  onState(fn: (s: WSState) => void): void {
    this.stateListeners.push(fn);
    fn(this.state);
  }

  /** cut closes the socket as a network failure would; the client reconnects by itself. */
  cut(): void {
    this.ws?.close();
  }

  private setState(s: WSState): void {
    this.state = s;
    for (const fn of this.stateListeners) fn(s);
  }

  private connect(): void {
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      this.opened++;
      this.backoff = 500;
      this.setState("live");
    };
    ws.onmessage = (m) => {
      let updates: { topic: string; data: any }[];
      try {
        updates = JSON.parse(m.data);
      } catch {
        return;
      }
      for (const u of updates) {
        this.topics.set(u.topic, u.data);
        for (const l of this.listeners) if (u.topic.startsWith(l.prefix)) l.fn(u.topic, u.data);
      }
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      const wait = this.backoff;
      this.backoff = Math.min(this.backoff * 2, 10000);
      this.retryIn = Math.ceil(wait / 1000);
      this.setState("reconnecting");
      setTimeout(() => this.connect(), wait);
    };
    ws.onerror = () => {
      /* onclose follows and reconnects */
    };
  }
}

/** AuthError is thrown by query when the gateway answers 401. */
export class AuthError extends Error {}

/** QueryError is thrown by query when the gateway refuses a query: status is the HTTP status
 * (400 for a bad parameter) and detail the gateway's message ("query: horizon: 0 is not …"). */
export class QueryError extends Error {
  constructor(
    readonly query: string,
    readonly status: number,
    readonly detail: string,
  ) {
    super(`query ${query}: HTTP ${status}: ${detail}`);
  }
}

/** query fetches GET /api/v1/queries/{name}. */
export async function query(name: string, params = ""): Promise<any> {
  const r = await fetch(`/api/v1/queries/${name}${params ? "?" + params : ""}`);
  if (r.status === 401 || r.status === 403) throw new AuthError(`query ${name}: ${r.status}`);
  if (!r.ok) {
    const text = await r.text();
    let detail = text.trim();
    try {
      const body = JSON.parse(text);
      if (typeof body?.error === "string") detail = body.error;
    } catch {
      /* not JSON: the text as it came */
    }
    throw new QueryError(name, r.status, detail);
  }
  return r.json();
}
