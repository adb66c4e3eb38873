/**
 * `--metrics-listen ADDR:PORT`: GET /metrics for a Prometheus scraper. Nothing else
 * is served (404), no request body is read; off unless the option is given.
 */
import type { Server } from 'node:http';
import { nodeHttp } from '../util/lazy.js';
import type { Log } from '../util/log.js';
import type { Metrics } from './metrics.js';

export function startMetricsHttp(m: Metrics, listen: { readonly host: string; readonly port: number }, log: Log): Promise<Server> {
  const server = nodeHttp().createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && !req.url?.startsWith('/metrics?'))) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    m.text().then(
      (text) => res.writeHead(200, { 'content-type': m.contentType }).end(text),
      (err: unknown) => {
        log.error({ err: (err as Error).message }, 'metrics scrape failed');
        res.writeHead(500).end();
      },
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      log.info({ host: listen.host, port: listen.port }, 'serving metrics over HTTP');
      resolve(server);
    });
  });
}
