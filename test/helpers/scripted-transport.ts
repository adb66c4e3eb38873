/**
 * A CPG transport for replaying recorded transcripts: it only records what our member
 * sends; deliveries come from the script (transcripts.test.ts, kvstore-golden.test.ts).
 */
import { CsError, type MemberId, type Transport } from '../../src/cluster/transport.js';

export class ScriptedTransport implements Transport {
  sent: Buffer[] = [];
  constructor(readonly local: MemberId) {}
  join(): number {
    return CsError.OK;
  }
  leave(): number {
    return CsError.OK;
  }
  send(buffers: readonly Buffer[]): number {
    this.sent.push(Buffer.concat(buffers.map((b) => Buffer.from(b))));
    return CsError.OK;
  }
  close(): void {}
}
