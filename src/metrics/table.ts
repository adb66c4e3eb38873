/**
 * Counter and histogram families whose hot path is one array store.
 *
 * prom-client's own `inc`/`observe` hash the label object on every call (a string
 * per call); the daemon calls these on every FUSE request and every DFSM message.
 * Here each label combination is resolved once to a row number (`row(...)`, at
 * set-up or on the first occurrence of a new errno), the hot path adds into a
 * Float64Array, and prom-client only sees the rows when it scrapes (`get()`), so
 * its registry, text format and default process metrics are used unchanged.
 *
 * The tables do not depend on prom-client at run time: a table is a plain metric
 * object (name, type, get) that the registry takes at the first scrape, so the
 * daemon loads prom-client (~60 ms of start-up CPU) only when metrics are read.
 */
import type { MetricObjectWithValues, MetricType, MetricValueWithName } from 'prom-client';
import { assert } from '../util/assert.js';

/** Label rows per family: op × errno × ... stays far below this in practice. */
export const MAX_ROWS = 4096;

type Labels = Record<string, string>;
interface Sample {
  value: number;
  labels: Labels;
  metricName?: string;
}

/** Label values → row number, allocated once per combination. */
class Rows {
  readonly labels: Labels[] = [];
  private readonly byKey = new Map<string, number>();
  constructor(private readonly names: readonly string[]) {}

  resolve(values: readonly string[]): number {
    assert(values.length === this.names.length, 'label value count');
    const key = values.join('\u0000');
    const known = this.byKey.get(key);
    if (known !== undefined) return known;
    assert(this.labels.length < MAX_ROWS, 'metric label rows exhausted');
    const labels: Labels = {};
    this.names.forEach((n, i) => (labels[n] = values[i]!));
    this.labels.push(labels);
    this.byKey.set(key, this.labels.length - 1);
    return this.labels.length - 1;
  }
}

// prom-client's d.ts declares MetricType as a numeric enum without a runtime value;
// its registry reads the strings 'counter' / 'histogram' (lib/counter.js, histogram.js).
type Exported = MetricObjectWithValues<MetricValueWithName<string>>;

function exported(id: { readonly name: string; readonly help: string }, type: 'counter' | 'histogram', values: Sample[]): Exported {
  return { name: id.name, help: id.help, type: type as unknown as MetricType, values, aggregator: 'sum', collect: () => undefined };
}

function grow(a: Float64Array, need: number): Float64Array {
  if (need <= a.length) return a;
  const b = new Float64Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

/** What a registry takes (prom-client's Registry.registerMetric reads name, type and get). */
export interface TableMetric {
  readonly name: string;
  readonly type: 'counter' | 'histogram';
  get(): Promise<Exported>;
}

/** A counter (name ends in _total): `add(row, n)` on the hot path. */
export class CounterTable implements TableMetric {
  readonly type = 'counter';
  private readonly rows: Rows;
  private values: Float64Array = new Float64Array(16);
  private readonly id: { readonly name: string; readonly help: string };

  /** Appends itself to `family` (the owner's list, registered at the first scrape). */
  constructor(family: TableMetric[], name: string, help: string, labelNames: readonly string[]) {
    assert(name.endsWith('_total'), `counter ${name} must end in _total`);
    this.id = { name, help };
    this.rows = new Rows(labelNames);
    family.push(this);
  }

  get name(): string {
    return this.id.name;
  }

  row(...values: string[]): number {
    const r = this.rows.resolve(values);
    this.values = grow(this.values, r + 1);
    return r;
  }

  add(row: number, n = 1): void {
    this.values[row]! += n;
  }

  value(row: number): number {
    return this.values[row]!;
  }

  async get(): Promise<Exported> {
    const values = this.rows.labels.map((labels, i) => ({ value: this.values[i]!, labels }));
    return exported(this.id, 'counter', values);
  }
}

/** A histogram in seconds: `record(row, seconds)` on the hot path. */
export class HistogramTable implements TableMetric {
  readonly type = 'histogram';
  private readonly rows: Rows;
  private readonly bounds: Float64Array;
  /** Per row: one count per bound (not cumulative), then +Inf, then the sum. */
  private cells: Float64Array;
  private readonly id: { readonly name: string; readonly help: string };

  /** Appends itself to `family` (the owner's list, registered at the first scrape). */
  constructor(family: TableMetric[], name: string, help: string, labelNames: readonly string[], buckets: readonly number[]) {
    assert(name.endsWith('_seconds'), `histogram ${name} must be in seconds`);
    assert(buckets.every((b, i) => i === 0 || b > buckets[i - 1]!), 'buckets ascend');
    this.id = { name, help };
    this.rows = new Rows(labelNames);
    this.bounds = Float64Array.from(buckets);
    this.cells = new Float64Array(16 * this.stride);
    family.push(this);
  }

  get name(): string {
    return this.id.name;
  }

  private get stride(): number {
    return this.bounds.length + 2;
  }

  row(...values: string[]): number {
    const r = this.rows.resolve(values);
    this.cells = grow(this.cells, (r + 1) * this.stride);
    return r;
  }

  /** Linear search: the bucket lists here have ≤ 16 bounds. */
  record(row: number, seconds: number): void {
    const v = seconds;
    const base = row * this.stride;
    let b = 0;
    while (b < this.bounds.length && v > this.bounds[b]!) b++;
    this.cells[base + b]! += 1;
    this.cells[base + this.bounds.length + 1]! += v;
  }

  async get(): Promise<Exported> {
    const values: Sample[] = [];
    this.rows.labels.forEach((labels, r) => {
      const base = r * this.stride;
      let acc = 0;
      for (let b = 0; b < this.bounds.length; b++) {
        acc += this.cells[base + b]!;
        values.push({ value: acc, labels: { ...labels, le: String(this.bounds[b]) }, metricName: `${this.id.name}_bucket` });
      }
      acc += this.cells[base + this.bounds.length]!;
      values.push({ value: acc, labels: { ...labels, le: '+Inf' }, metricName: `${this.id.name}_bucket` });
      values.push({ value: this.cells[base + this.bounds.length + 1]!, labels, metricName: `${this.id.name}_sum` });
      values.push({ value: acc, labels, metricName: `${this.id.name}_count` });
    });
    return exported(this.id, 'histogram', values);
  }
}
