// Commands: POST /api/v1/commands/{name}. The browser sends the token cookie that opening the
// UI with ?token= set (as for every query), so a command acts with the signed-in token's role.

/** CommandResult is the gateway's answer: accepted (202, on the CMD stream at seq) or why not. */
export interface CommandResult {
  ok: boolean;
  status: number; // HTTP status; 0 when the request did not reach the engine
  seq?: number;
  id?: string;
  error?: string; // the gateway's message
  field?: string; // the argument it names, for a 400
}

/** command sends one command and never throws: failures come back as a result. */
export async function command(name: string, args: Record<string, unknown> = {}): Promise<CommandResult> {
  let r: Response;
  try {
    r = await fetch(`/api/v1/commands/${encodeURIComponent(name)}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(args),
    });
  } catch (e) {
    return { ok: false, status: 0, error: `the engine did not answer: ${e instanceof Error ? e.message : e}` };
  }
  let body: any = {};
  try {
    body = await r.json();
  } catch {
    /* not JSON: the status says enough */
  }
  if (r.status === 401) window.dispatchEvent(new Event("synapse-auth"));
  if (r.ok) return { ok: true, status: r.status, seq: body.seq, id: body.id };
  const error = typeof body.error === "string" ? body.error : `HTTP ${r.status}`;
  return { ok: false, status: r.status, error, field: typeof body.field === "string" ? body.field : undefined };
}

/** describe turns a result into one line of text: what happened and, on failure, why. */
export function describe(name: string, res: CommandResult): string {
  if (res.ok) return `✓ ${name} accepted (CMD seq ${res.seq ?? "?"})`;
  const field = res.field ? ` [field: ${res.field}]` : "";
  return `✗ ${name} refused${res.status ? ` (${res.status})` : ""}: ${res.error ?? "unknown error"}${field}`;
}
