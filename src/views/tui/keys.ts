// Every key binding of `mltrace top`, in one table: the help screen is
// generated from it and the input handler only looks keys up in it.
export const VIEWS = ["Overview", "Tasks", "Latency", "Diagnoses"] as const;
export const SORTS = ["cpu", "runq", "off-cpu", "pid"] as const;
export type SortKey = (typeof SORTS)[number];

export interface UiState {
  view: number;
  sort: SortKey;
  paused: boolean;
  help: boolean;
}

export const initialUi: UiState = { view: 0, sort: "cpu", paused: false, help: false };

export type Action =
  | { type: "quit" }
  | { type: "next-view" }
  | { type: "view"; view: number }
  | { type: "sort" }
  | { type: "pause" }
  | { type: "help" };

export interface Binding {
  keys: string[];
  help: string;
  action: Action;
}

export const BINDINGS: Binding[] = [
  { keys: ["q", "ctrl+c"], help: "quit (detaches every probe)", action: { type: "quit" } },
  { keys: ["tab"], help: "next view", action: { type: "next-view" } },
  ...VIEWS.map((name, view) => ({ keys: [String(view + 1)], help: `${name} view`, action: { type: "view" as const, view } })),
  { keys: ["s"], help: `sort tasks by the next column (${SORTS.join(", ")})`, action: { type: "sort" } },
  { keys: ["p"], help: "pause / resume the display (tracing goes on)", action: { type: "pause" } },
  { keys: ["?"], help: "this help (any key closes it)", action: { type: "help" } },
];

/** Ink's (input, key) → the name used in BINDINGS. */
export function keyName(input: string, key: { tab?: boolean; ctrl?: boolean; escape?: boolean }): string {
  if (key.tab) return "tab";
  if (key.escape) return "escape";
  if (key.ctrl) return `ctrl+${input}`;
  return input;
}

export function actionFor(name: string): Action | undefined {
  return BINDINGS.find((b) => b.keys.includes(name))?.action;
}

/** Pure: what a key does to the view's state (quit is the caller's). */
export function reduceUi(state: UiState, action: Action): UiState {
  if (state.help && action.type !== "quit") return { ...state, help: false };
  switch (action.type) {
    case "next-view":
      return { ...state, view: (state.view + 1) % VIEWS.length };
    case "view":
      return { ...state, view: action.view };
    case "sort":
      return { ...state, sort: SORTS[(SORTS.indexOf(state.sort) + 1) % SORTS.length]! };
    case "pause":
      return { ...state, paused: !state.paused };
    case "help":
      return { ...state, help: true };
    default:
      return state;
  }
}
