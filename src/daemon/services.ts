/**
 * The corosync-facing services besides the DFSM, with loop.c's restart policy: a
 * failed initialize or a dispatch error closes the handle and the service tries
 * again ~6 s later, forever; "can't initialize service" is logged once per outage.
 *
 * | here              | C                                                    |
 * |-------------------|------------------------------------------------------|
 * | Reconnecting      | loop.c: service_start_job / poll_dispatch_fn          |
 * | QuorumService     | quorum.c (quorate flag, "node has/lost quorum")       |
 * | ClusterInfoService| confdb.c: cmap_read_config, status.c: cfs_status_set_clinfo |
 */
import { type ClusterConfig, CmapClient } from '../cluster/cmap.js';
import { csErrorName } from '../cluster/native.js';
import { QuorumClient } from '../cluster/quorum.js';
import type { Log } from '../util/log.js';

/** loop.c: re-initialize when more than 5 s passed since the last attempt (1 s tick). */
export const SERVICE_RETRY_MS = 6000;

interface Closable {
  close(): void;
}

/** Open a client, keep it, and reopen it after a failure. */
abstract class Reconnecting<C extends Closable> {
  protected client: C | null = null;
  private timer: NodeJS.Timeout | null = null;
  private failedOnce = false;
  private stopped = false;

  protected constructor(
    protected readonly log: Log,
    private readonly name: string,
  ) {}

  /** Create the client; throws on failure. `onFailure` reports a dispatch error. */
  protected abstract open(onFailure: (code: number) => void): C;
  /** The client is gone (dispatch error or stop). */
  protected abstract lost(): void;

  get connected(): boolean {
    return this.client !== null;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  private connect(): void {
    this.timer = null;
    if (this.stopped) return;
    try {
      this.client = this.open((code) => {
        this.log.error({ code: csErrorName(code) }, `${this.name}_dispatch failed`);
        this.client = null;
        this.lost();
        this.schedule();
      });
      this.failedOnce = false;
    } catch (err) {
      if (!this.failedOnce) this.log.error({ err: (err as Error).message }, `${this.name}_initialize failed - can't initialize service`);
      this.failedOnce = true;
      this.schedule();
    }
  }

  private schedule(): void {
    if (this.timer === null && !this.stopped) this.timer = setTimeout(() => this.connect(), SERVICE_RETRY_MS);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.client?.close();
    this.client = null;
    this.lost();
  }
}

/** Not quorate until the first notification, as C. */
export class QuorumService extends Reconnecting<QuorumClient> {
  quorate = false;

  constructor(log: Log) {
    super(log, 'quorum');
  }

  protected open(onFailure: (code: number) => void): QuorumClient {
    return QuorumClient.open({
      notify: (s) => {
        if (s.quorate !== this.quorate) this.log.info({ members: s.members }, s.quorate ? 'node has quorum' : 'node lost quorum');
        this.quorate = s.quorate;
      },
      failure: onFailure,
    });
  }

  protected lost(): void {
    if (this.quorate) this.log.info({}, 'node lost quorum');
    this.quorate = false;
  }
}

/**
 * The cluster name, config version and nodelist from cmap, re-read on every tracked
 * change. The last good configuration stays when corosync goes away (as C keeps its
 * cluster info); every read goes to the status module (cfs_status_set_clinfo).
 */
export class ClusterInfoService extends Reconnecting<CmapClient> {
  config: ClusterConfig | null = null;

  constructor(
    log: Log,
    /** status.c: cfs_status_set_clinfo, called with every configuration read. */
    private readonly onConfig: (config: ClusterConfig) => void = () => {},
  ) {
    super(log, 'cmap');
  }

  protected open(onFailure: (code: number) => void): CmapClient {
    const client = CmapClient.open({ changed: () => this.read(client), failure: onFailure });
    this.read(client);
    return client;
  }

  protected lost(): void {}

  private read(client: CmapClient): void {
    const r = client.readConfig();
    if (r.config === undefined) {
      this.log.error({ code: csErrorName(r.err) }, 'cmap_read_config failed - keeping the previous cluster info');
      return;
    }
    if (r.config.configVersionMissing) this.log.error({}, 'cmap_get totem.config_version failed CS_ERR_NOT_EXIST');
    this.config = r.config;
    this.onConfig(r.config);
    this.log.info({ nodes: r.config.nodes.length }, `update cluster info (cluster name  ${r.config.clusterName}, version = ${r.config.configVersion})`);
  }
}
