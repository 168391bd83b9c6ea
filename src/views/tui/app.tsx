// The whole screen as a pure function of a snapshot and the view's state,
// cut to width × height so it never scrolls (scrolling makes Ink redraw it
// all: flicker). Each panel is a memoised component drawing its lines as one
// text node (lines.tsx); only the view on screen is built.
import { Box, Text } from "ink";
import type { TopSnapshot } from "../../model/live.js";
import { count } from "../format.js";
import { DiagnosesPanel } from "./diagnoses.js";
import { exitText, Header } from "./header.js";
import { Help } from "./help.js";
import type { UiState } from "./keys.js";
import { LatencyPanel } from "./latency.js";
import { Lines, type StyledLine } from "./lines.js";
import { RolesPanel } from "./roles.js";
import { TaskTable } from "./tasks.js";
import { fit } from "./text.js";

export interface AppProps {
  snap: TopSnapshot;
  ui: UiState;
  width: number;
  height: number;
  color: boolean;
}

export function App({ snap, ui, width, height, color }: AppProps) {
  const report = snap.final ?? snap.interval;
  const notices: StyledLine[] = [];
  if (snap.final) notices.push({ text: `${exitText(snap.final.target)}: summary of the whole session; q to quit`, color: "green" });
  if (snap.lost_events > 0) notices.push({ text: `${count(snap.lost_events)} events lost: totals are lower bounds`, color: "red" });
  // header 3 lines, notices, and one spare line so the cursor never scrolls the screen
  const body = Math.max(4, height - 3 - notices.length - 1);
  return (
    <Box flexDirection="column" width={width}>
      <Header snap={snap} view={ui.view} paused={ui.paused} width={width} color={color} />
      <Lines lines={notices.map((n) => ({ text: fit(n.text, width), color: color ? n.color : undefined, bold: color }))} />
      {ui.help ? (
        <Help width={width} />
      ) : !report ? (
        <Lines lines={[fit(`waiting for the first interval (every ${snap.interval_s} s)…`, width)]} />
      ) : (
        <View snap={snap} ui={ui} width={width} height={body} color={color} />
      )}
    </Box>
  );
}

function View({ snap, ui, width, height, color }: AppProps) {
  const report = (snap.final ?? snap.interval)!;
  switch (ui.view) {
    case 1:
      return <TaskTable report={report} sort={ui.sort} withThreads width={width} maxRows={height} />;
    case 2:
      return <LatencyPanel sched={report.sched} width={width} height={height} />;
    case 3:
      return <DiagnosesPanel diagnoses={report.diagnoses} width={width} detailed color={color} maxLines={height} />;
    default: {
      const rolesLines = 2 + report.roles.length;
      const diagLines = Math.min(4, 1 + report.diagnoses.length);
      const tableRows = Math.max(2, height - rolesLines - diagLines - 2);
      return (
        <Box flexDirection="column">
          <RolesPanel report={report} history={snap.history} width={width} />
          <Text> </Text>
          <DiagnosesPanel diagnoses={report.diagnoses} width={width} detailed={false} color={color} maxLines={diagLines} />
          <Text> </Text>
          <TaskTable report={report} sort={ui.sort} withThreads={false} width={width} maxRows={tableRows} />
        </Box>
      );
    }
  }
}
