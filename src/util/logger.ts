/**
 * The daemon's pino logger: JSON lines by default (journald/stdout), a compact
 * human-readable form with -d/--pretty. Every module logs through the `Log`
 * interface with a `domain` binding (C's log domains: main, dcdb, quorum, ...).
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import type { Log } from './log.js';

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warning', 50: 'crit', 60: 'fatal' };

/** "2026-11-21T13:10:00.000Z info [dcdb] sync round: leader selected leader=1/42 ..." */
export function prettyLine(json: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const { time, level, msg, domain, pid: _pid, hostname: _host, ...rest } = rec;
  const extra = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const when = typeof time === 'number' ? new Date(time).toISOString() : '';
  return `${when} ${LEVELS[level as number] ?? String(level)} [${String(domain ?? 'main')}] ${String(msg ?? '')}${extra ? ' ' + extra : ''}\n`;
}

export interface LoggerOptions {
  readonly debug: boolean;
  readonly pretty: boolean;
  readonly destination?: NodeJS.WritableStream;
}

export function createLogger(opts: LoggerOptions): pino.Logger {
  const out = opts.destination ?? process.stdout;
  const level = opts.debug ? 'debug' : 'info';
  if (!opts.pretty) return pino({ level, base: { pid: process.pid } }, pino.destination({ fd: 1, sync: true }));
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.length > 0) out.write(prettyLine(line));
      cb();
    },
  });
  return pino({ level, base: undefined }, stream);
}

/** Child loggers keep the level they were created with; remember them to switch all at once. */
const children = new WeakMap<pino.Logger, pino.Logger[]>();

export function domainLog(logger: pino.Logger, domain: string): Log {
  const child = logger.child({ domain });
  children.set(logger, [...(children.get(logger) ?? []), child]);
  return child as unknown as Log;
}

/** Debug on or off for the logger and every domain logger made from it (`.debug`, `-d`). */
export function setDebug(logger: pino.Logger, on: boolean): void {
  const level = on ? 'debug' : 'info';
  logger.level = level;
  for (const child of children.get(logger) ?? []) child.level = level;
}
