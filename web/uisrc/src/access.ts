// Who the UI acts as: its token's name and role (the whoami query) and the role each command
// needs (GET /api/v1/commands). A control whose command the role may not send is drawn
// disabled, its title saying which role it needs, instead of being refused (403) on click.
import { query } from "./live";

export interface Identity {
  name: string;
  role: string;
}

const RANK: Record<string, number> = { viewer: 1, trader: 2, admin: 3 };
let me: Identity | null = null;
let needs: Record<string, string> = {};

/** loadAccess asks who this token is and what each command needs. When that cannot be
 * known (not signed in, the engine unreachable) every control stays enabled and the engine
 * answers a command as before. */
export async function loadAccess(): Promise<Identity | null> {
  try {
    const [id, commands] = await Promise.all([query("whoami"), fetch("/api/v1/commands").then((r) => (r.ok ? r.json() : {}))]);
    me = id;
    needs = commands ?? {};
  } catch {
    me = null;
  }
  return me;
}

/** denied says why this token may not send a command ("needs the trader role; dash has the
 * viewer role"), or "" when it may or that is not known. */
export function denied(command: string): string {
  const need = needs[command];
  if (!me || !need || (RANK[me.role] ?? 0) >= (RANK[need] ?? 0)) return "";
  return `⛔ needs the ${need} role; ${me.name} has the ${me.role} role`;
}

/** may says whether this token may send a command (true when that is not known). */
export function may(command: string): boolean {
  return denied(command) === "";
}

/** titled is a control's title: why it is disabled, if it is for the role, then what it does. */
export function titled(command: string, title: string): string {
  const d = denied(command);
  return d && title ? `${d} · ${title}` : d || title;
}

/** guard disables a control whose command this token may not send, saying why in its title. */
export function guard(b: HTMLButtonElement, command: string): void {
  if (may(command)) return;
  b.disabled = true;
  b.title = titled(command, b.title);
}
