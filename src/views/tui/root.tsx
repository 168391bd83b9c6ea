// The TUI's one stateful component: subscribes to the source, owns the view
// state and the terminal size, and maps keys through the key table.
import { useInput, useStdout } from "ink";
import { useEffect, useReducer, useState } from "react";
import { App } from "./app.js";
import { actionFor, initialUi, keyName, reduceUi, type Action } from "./keys.js";
import { useSnapshot, type SnapshotSource } from "./source.js";

export interface RootProps {
  source: SnapshotSource;
  onQuit: () => void;
  color: boolean;
}

function useTerminalSize(): { width: number; height: number } {
  const { stdout } = useStdout();
  const read = () => ({ width: stdout.columns || 80, height: stdout.rows || 24 });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const onResize = () => setSize(read());
    stdout.on("resize", onResize);
    return () => {
      stdout.off("resize", onResize);
    };
  }, [stdout]);
  return size;
}

export function Root({ source, onQuit, color }: RootProps) {
  const [ui, dispatch] = useReducer((state: typeof initialUi, action: Action) => reduceUi(state, action), initialUi);
  const snap = useSnapshot(source, ui.paused);
  const { width, height } = useTerminalSize();
  useInput((input, key) => {
    const action = actionFor(keyName(input, key));
    if (action?.type === "quit") onQuit();
    else if (action) dispatch(action);
    else if (ui.help) dispatch({ type: "help" }); // any key closes help
  });
  return <App snap={snap} ui={ui} width={width} height={height} color={color} />;
}
