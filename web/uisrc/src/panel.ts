// The glass panels every page lays its content in.
import { esc, h } from "./format";

/** panel appends a panel with a title to root and returns its body. */
export function panel(root: HTMLElement, title: string, cls = ""): HTMLElement {
  const s = h("section", `glass card ${cls}`);
  s.innerHTML = `<div class="panel-head"><h2>${esc(title)}</h2></div>`;
  const body = h("div", "body");
  s.appendChild(body);
  root.appendChild(s);
  return body;
}

/** messagePanel appends a panel with an id: a head with a title and a hint, the body's HTML,
 * then a message line (role status) for what the panel's actions answer. */
export function messagePanel(root: HTMLElement, id: string, title: string, body: string): HTMLElement {
  const s = document.createElement("section");
  s.className = "glass card pf-panel";
  s.id = id;
  s.innerHTML = `<div class="panel-head"><h2>${esc(title)}</h2><span class="hint" data-hint></span></div>${body}<p class="msg" data-msg role="status" aria-live="polite"></p>`;
  root.appendChild(s);
  return s;
}
