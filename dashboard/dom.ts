// A few lines of DOM building: h("td", { class: "num" }, "1.23"). Styles go
// through the CSSOM (el.style), never a style attribute, so a strict
// Content-Security-Policy holds.
export type Child = Node | string | number | null | undefined | false | Child[];

export interface Props {
  class?: string;
  title?: string;
  style?: Record<string, string>;
  attrs?: Record<string, string>;
  on?: Partial<{ [K in keyof HTMLElementEventMap]: (ev: HTMLElementEventMap[K]) => void }>;
}

function append(el: Element, child: Child): void {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) for (const c of child) append(el, c);
  else el.append(child instanceof Node ? child : String(child));
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props?: Props | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props?.class) el.className = props.class;
  if (props?.title) el.title = props.title;
  for (const [k, v] of Object.entries(props?.style ?? {})) el.style.setProperty(k, v);
  for (const [k, v] of Object.entries(props?.attrs ?? {})) el.setAttribute(k, v);
  for (const [k, fn] of Object.entries(props?.on ?? {})) el.addEventListener(k, fn as EventListener);
  append(el, children);
  return el;
}

/** Replaces what `el` shows. */
export function show(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}
