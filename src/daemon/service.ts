/**
 * A part of the daemon with a lifetime: the Daemon starts its services in list order
 * after the database is open and stops them in reverse before the unmount (pmxcfs.c:
 * main creates the services, cfs_loop runs them; at loop end every finalize runs).
 */
export interface DaemonService {
  /** For the log lines of start and stop. */
  readonly name: string;
  start(): void | Promise<void>;
  /** Must not throw; must end within the daemon's stop deadline. */
  stop(): void | Promise<void>;
}
