/**
 * The rogue CPG member in the simulation (src/sim/rogue.ts, issue 16): at least
 * 100,000 random and mutated messages per run (SIM_ROGUE_MESSAGES to change);
 * no exception escapes, SYNCED replicas never differ silently, and after the rogue
 * leaves a daemon restart brings every node back to SYNCED with identical data.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runRogue } from '../../src/sim/rogue.js';

const dir = mkdtempSync(join(tmpdir(), 'pmxcfs-ts-rogue-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const MESSAGES = Number(process.env['SIM_ROGUE_MESSAGES'] ?? 100_000);

describe('simulation with a rogue CPG member', () => {
  it(`${MESSAGES} hostile messages: no exception escapes, no silent divergence, a restart recovers`, { timeout: 600_000 }, () => {
    const r = runRogue({ seed: 16, messages: MESSAGES, dir });
    assert.ok(r.ok, r.failure);
    assert.ok(r.sent >= MESSAGES, `sent ${r.sent}`);
    if (MESSAGES < 20_000) return;
    // the run really reaches working groups and handlers, and the late phase wedges some
    assert.ok(r.syncedBursts > r.episodes * 10, `bursts into a fully SYNCED group: ${r.syncedBursts}`);
    assert.ok(r.delivered > MESSAGES / 10, `NORMAL messages handled: ${r.delivered}`);
    assert.ok(r.versionErrors > 0, 'future protocol versions reached VERSION_ERROR in some episode');
  });
});
