/**
 * The logging surface every module takes: a subset of pino's Logger, so tests and
 * the simulation can pass a silent or recording logger and the daemon passes pino.
 */
export interface Log {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => {};
export const silentLog: Log = { debug: noop, info: noop, warn: noop, error: noop };

