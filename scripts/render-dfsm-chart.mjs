#!/usr/bin/env node
// Writes docs/dfsm-chart.md from the DFSM chart (src/dfsm/chart.ts); run after `npm run build`.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderChartMarkdown } from '../dist/src/dfsm/chart-render.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
writeFileSync(join(root, 'docs', 'dfsm-chart.md'), renderChartMarkdown());
