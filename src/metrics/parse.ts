/**
 * A strict parser of the Prometheus text exposition format 0.0.4, with the checks
 * Prometheus' own parser (expfmt) and `promtool check metrics` apply: valid metric
 * and label names, escaped label values, float values, one TYPE per family before
 * its samples, families not interleaved, no duplicate series, counters named
 * `_total`, histograms with an `le` on every bucket, cumulative buckets and
 * `+Inf` = `_count`. `status --watch` reads the daemon's metrics through it and the
 * tests check the daemon's output with it.
 */

export type FamilyType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  type: FamilyType;
  help: string;
  readonly samples: Sample[];
}

export class ExpositionError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const SUFFIXES = ['_bucket', '_count', '_sum', '_total'];

/** Go's strconv.ParseFloat, as expfmt uses it: also nan/inf/infinity in any case. */
function parseValue(text: string, line: number): number {
  const special = /^([-+]?)(inf|infinity|nan)$/i.exec(text);
  if (special !== null) return special[2]!.toLowerCase() === 'nan' ? NaN : special[1] === '-' ? -Infinity : Infinity;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new ExpositionError(line, `bad value '${text}'`);
  return Number(text);
}

/** `{a="x",b="y"}` starting at text[start] === '{'; returns the labels and the index after '}'. */
function parseLabels(text: string, start: number, line: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start + 1;
  while (text[i] !== '}') {
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new ExpositionError(line, 'label without =');
    const name = text.slice(i, eq).trim();
    if (!LABEL_NAME.test(name)) throw new ExpositionError(line, `bad label name '${name}'`);
    if (name in labels) throw new ExpositionError(line, `duplicate label '${name}'`);
    if (text[eq + 1] !== '"') throw new ExpositionError(line, 'label value not quoted');
    let value = '';
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] !== '\\') value += text[j];
      else if (text[j + 1] === 'n') (value += '\n'), j++;
      else if (text[j + 1] === '\\' || text[j + 1] === '"') (value += text[j + 1]), j++;
      else throw new ExpositionError(line, 'bad escape in label value');
    }
    if (j >= text.length) throw new ExpositionError(line, 'unterminated label value');
    labels[name] = value;
    i = j + 1;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw new ExpositionError(line, 'expected , or } after a label');
  }
  return { labels, end: i + 1 };
}

function parseSample(text: string, line: number): Sample {
  const m = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(text);
  if (m === null) throw new ExpositionError(line, `bad metric name in '${text}'`);
  const name = m[0];
  let rest = text.slice(name.length);
  let labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    const l = parseLabels(rest, 0, line);
    labels = l.labels;
    rest = rest.slice(l.end);
  }
  const parts = rest.trim().split(/\s+/);
  if (parts.length < 1 || parts.length > 2 || parts[0] === '') throw new ExpositionError(line, `expected value [timestamp] in '${text}'`);
  if (parts.length === 2 && !/^-?\d+$/.test(parts[1]!)) throw new ExpositionError(line, `bad timestamp '${parts[1]}'`);
  return { name, labels, value: parseValue(parts[0]!, line) };
}

/** The family a sample belongs to: its own name or the name without a type suffix. */
function familyOf(families: Map<string, Family>, name: string): Family | undefined {
  const own = families.get(name);
  if (own !== undefined) return own;
  for (const s of SUFFIXES) {
    if (!name.endsWith(s)) continue;
    const f = families.get(name.slice(0, -s.length));
    if (f !== undefined && (f.type === 'histogram' || f.type === 'summary')) return f;
  }
  return undefined;
}

function directive(families: Map<string, Family>, seen: Set<string>, text: string, line: number): Family | null {
  const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$/.exec(text);
  if (m === null) return null; // a plain comment
  const [, kind, name, arg = ''] = m;
  if (!METRIC_NAME.test(name!)) throw new ExpositionError(line, `bad metric name '${name}'`);
  let f = families.get(name!);
  if (f === undefined) {
    if (seen.has(name!)) throw new ExpositionError(line, `family ${name} is not contiguous`);
    f = { name: name!, type: 'untyped', help: '', samples: [] };
    families.set(name!, f);
    seen.add(name!);
  }
  if (kind === 'TYPE') {
    if (!TYPES.has(arg)) throw new ExpositionError(line, `bad type '${arg}'`);
    if (f.samples.length > 0) throw new ExpositionError(line, `TYPE of ${name} after its samples`);
    f.type = arg as FamilyType;
  } else {
    f.help = arg;
  }
  return f;
}

export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  const series = new Set<string>();
  let current: Family | null = null;
  text.split('\n').forEach((raw, k) => {
    const line = k + 1;
    const t = raw.trim();
    if (t === '') return;
    if (t.startsWith('#')) {
      current = directive(families, seen, t, line) ?? current;
      return;
    }
    const s = parseSample(t, line);
    let f = familyOf(families, s.name);
    if (f === undefined) {
      f = { name: s.name, type: 'untyped', help: '', samples: [] };
      families.set(s.name, f);
      seen.add(s.name);
    }
    if (f !== current && f.samples.length > 0) throw new ExpositionError(line, `family ${f.name} is not contiguous`);
    current = f;
    const key = `${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`;
    if (series.has(key)) throw new ExpositionError(line, `duplicate series ${key}`);
    series.add(key);
    f.samples.push(s);
  });
  for (const f of families.values()) checkFamily(f);
  return families;
}

/** promtool's lints that are errors here: counter names, histogram shape. */
function checkFamily(f: Family): void {
  if (f.type === 'counter' && !f.name.endsWith('_total')) throw new ExpositionError(0, `counter ${f.name} does not end in _total`);
  if (f.type !== 'histogram') return;
  const byLabels = new Map<string, { buckets: [number, number][]; count: number | null }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const h = byLabels.get(key) ?? { buckets: [], count: null };
    byLabels.set(key, h);
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new ExpositionError(0, `${f.name}_bucket without le`);
      h.buckets.push([parseValue(le, 0), s.value]);
    } else if (s.name === `${f.name}_count`) h.count = s.value;
    else if (s.name !== `${f.name}_sum`) throw new ExpositionError(0, `unexpected sample ${s.name} in histogram ${f.name}`);
  }
  for (const [key, h] of byLabels) {
    h.buckets.sort((a, b) => a[0] - b[0]);
    const inf = h.buckets.at(-1);
    if (inf === undefined || inf[0] !== Infinity) throw new ExpositionError(0, `histogram ${f.name}${key} without +Inf bucket`);
    if (h.buckets.some((b, i) => i > 0 && b[1] < h.buckets[i - 1]![1])) throw new ExpositionError(0, `histogram ${f.name}${key} buckets not cumulative`);
    if (h.count !== inf[1]) throw new ExpositionError(0, `histogram ${f.name}${key}: +Inf bucket ${inf[1]} != count ${h.count}`);
  }
}

/** The value of the first series named `name` whose labels include all of `labels`. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const f = familyOf(families, name);
  return f?.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}
