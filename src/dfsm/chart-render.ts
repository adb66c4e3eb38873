/**
 * The DFSM chart as a document: a mermaid state diagram of the mode changes and a table
 * of every transition (scripts/render-dfsm-chart.mjs writes it to docs/dfsm-chart.md;
 * a unit test keeps that file in step with chart.ts).
 */
import { DFSM_CHART } from './chart.js';

interface Row {
  readonly state: string;
  readonly event: string;
  readonly guard: string;
  readonly target: string;
  readonly actions: string;
}

type TransitionLike = { readonly guard?: string; readonly target?: string; readonly actions?: readonly (string | { readonly params: { readonly event: string } })[] };

function rows(): Row[] {
  const out: Row[] = [];
  for (const [state, def] of Object.entries(DFSM_CHART.states)) {
    for (const [event, t] of Object.entries(def.on as Record<string, TransitionLike | readonly TransitionLike[]>)) {
      for (const step of [t].flat() as TransitionLike[]) {
        const actions = (step.actions ?? []).map((a) => (typeof a === 'string' ? a : `raise ${a.params.event}`)).join(', ');
        out.push({ state, event, guard: step.guard ?? '', target: step.target ?? '', actions });
      }
    }
  }
  return out;
}

/** The markdown document (deterministic: same chart, same bytes). */
export function renderChartMarkdown(): string {
  const all = rows();
  const lines = [
    '# The DFSM chart',
    '',
    'Generated from `src/dfsm/chart.ts` by `node scripts/render-dfsm-chart.mjs`; do not edit.',
    'The engine (`src/dfsm/dfsm.ts`) enters a target before it runs the actions, an action',
    'that fails sends FAULT and ends the step, `raise` events run after the step (see the',
    'header of chart.ts). `*` in an error mode: every event not listed for that mode.',
    '',
    '```mermaid',
    'stateDiagram-v2',
    `  [*] --> ${DFSM_CHART.initial}`,
  ];
  const seen = new Set<string>();
  for (const r of all) {
    if (r.target === '' || r.target === r.state) continue;
    const label = r.guard === '' ? r.event : `${r.event} [${r.guard}]`;
    const line = `  ${r.state} --> ${r.target} : ${label}`;
    if (!seen.has(line)) lines.push(line);
    seen.add(line);
  }
  lines.push('```', '', '| mode | event | guard | target | actions |', '|---|---|---|---|---|');
  for (const r of all) lines.push(`| ${r.state} | ${r.event} | ${r.guard} | ${r.target} | ${r.actions} |`);
  return lines.join('\n') + '\n';
}
