import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseNodelist } from '../../src/cluster/cmap.js';
import { corosyncConf, subnetFor, validPrefix } from '../../src/lab/lab.js';

describe('cmap nodelist parsing (C cmap_read_clusternodes)', () => {
  it('name wins over ring0_addr, ring0_addr is the fallback name, nodeid 0 / no name dropped', () => {
    const nodes = parseNodelist([
      ['nodelist.node.0.name', 'n1'],
      ['nodelist.node.0.nodeid', 1],
      ['nodelist.node.0.quorum_votes', 1],
      ['nodelist.node.0.ring0_addr', '10.0.0.1'],
      ['nodelist.node.1.nodeid', 2],
      ['nodelist.node.1.ring0_addr', '10.0.0.2'],
      ['nodelist.node.2.name', 'n3'],
      ['nodelist.node.3.name', 'n4'],
      ['nodelist.node.3.nodeid', 0],
    ]);
    assert.deepEqual(nodes, [
      { nodeid: 1, name: 'n1', votes: 1, ring0Addr: '10.0.0.1' },
      { nodeid: 2, name: '10.0.0.2', votes: 0, ring0Addr: '10.0.0.2' },
    ]);
  });
});

describe('lab configuration', () => {
  it('corosync.conf has config_version, knet, votequorum and one node per index', () => {
    const conf = corosyncConf('pmxlab', 3, '10.99.7', 3000);
    assert.match(conf, /config_version: 1/);
    assert.match(conf, /transport: knet/);
    assert.match(conf, /provider: corosync_votequorum/);
    assert.match(conf, /name: n3\n\s+nodeid: 3\n\s+quorum_votes: 1\n\s+ring0_addr: 10\.99\.7\.3/);
  });

  it('prefixes and subnets', () => {
    assert.equal(validPrefix('pmxlab'), true);
    assert.equal(validPrefix('Bad-name'), false);
    assert.match(subnetFor('pmxlab'), /^10\.99\.\d+$/);
    assert.equal(subnetFor('pmxlab'), subnetFor('pmxlab'));
  });
});
