/**
 * Wire codecs: the worked examples of wire.md §12, seeded round-trip properties and
 * hostile input (every truncation, random garbling): decoders never throw.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { Rng } from '../../src/util/rng.js';
import { decodeFuseMessage, decodeUnlock, encodeFuseMessage, encodeUnlock, type FuseMessage } from '../../src/wire/dcdb.js';
import {
  decodeDfsmMessage,
  decodeVerify,
  decodeVerifyRequest,
  DfsmMessageType,
  encodeNormalHeader,
  encodeStateHeader,
  encodeVerify,
  encodeVerifyRequest,
} from '../../src/wire/dfsm.js';
import { DT_DIR, DT_REG, type EntryFields } from '../../src/wire/entry.js';
import { databaseChecksum, entryCsum, entryDigest, entryDigestLatin1 } from '../../src/wire/hash.js';
import { decodeIndex, encodeIndex, indexEntries } from '../../src/wire/memdb-index.js';
import { decodeUpdate, encodeUpdate, updateSize, writeUpdate } from '../../src/wire/update.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// wire.md §12.1
const root: EntryFields = { inode: 0, parent: 0, version: 4, writer: 2, mtime: 1700000300, size: 0, type: DT_DIR, name: '', data: null };
const d: EntryFields = { inode: 2, parent: 0, version: 2, writer: 1, mtime: 1700000100, size: 0, type: DT_DIR, name: 'd', data: null };
const a: EntryFields = { inode: 3, parent: 2, version: 4, writer: 2, mtime: 1700000300, size: 6, type: DT_REG, name: 'a.txt', data: Buffer.from('hello\n') };
const epoch = { epoch: 2, time: 1700000350, nodeid: 1, pid: 4194 };

describe('wire.md §12 worked examples', () => {
  it('index digests', () => {
    assert.equal(entryDigest(root).toString('hex'), '21ebc8b49c091ce7dbf434a7d664b9112f2446d0ac1001ff3e8176f49581b2f2');
    assert.equal(entryDigest(d).toString('hex'), '0a2d25a8744528538bdf87a6df1f9d18918856b202c5440f46473ff41cb7be3b');
    assert.equal(entryDigest(a).toString('hex'), '9e3ef58545afb106978a5b6312fa6d997346c99adce7e4f5d514bbc9cd604a78');
  });

  it('the 152-byte index', () => {
    const idx = encodeIndex(root, [root, d, a].map((e) => ({ inode: e.inode, digest: entryDigest(e) })));
    assert.equal(idx.length, 152);
    assert.ok(idx.subarray(0, 32).equals(hex('0400000000000000 0300000000000000 02000000 2cf25365 03000000 98000000')));
    const back = decodeIndex(idx);
    assert.ok(back.ok);
    assert.deepEqual([back.value.version, back.value.lastInode, back.value.size, back.value.bytes], [4, 3, 3, 152]);
  });

  it('VERIFY checksum and lock checksums', () => {
    assert.equal(databaseChecksum([root, d, a]).toString('hex'), '4640e969393bfb3873ee3b93627a9b92841785d90d8310ef1232ef424d97e862');
    assert.equal(entryCsum(d).toString('hex'), 'e1a32091fb0e716f41b9b343b0204307f2b45c654100c0aaa5e36f0812c6f97b');
    assert.equal(entryCsum(a).toString('hex'), '948bdae145c0aca69f1af0adaf19f4ca1951c31f4bf8e3fa7b1b067cb4100dc3');
  });

  it('UPDATE for a.txt and for the root, with the full DFSM message', () => {
    const payload = encodeUpdate(a);
    assert.ok(payload.equals(hex('0200000000000000 0300000000000000 0400000000000000 02000000 2cf25365 06000000 06000000 08 612e74787400 68656c6c6f0a')));
    const msg = Buffer.concat([encodeStateHeader(DfsmMessageType.UPDATE, 1, 1700000400, epoch), payload]);
    assert.ok(msg.subarray(0, 32).equals(hex('03000000 01000000 90f25365 00000000 02000000 5ef25365 01000000 62100000')));
    assert.ok(encodeUpdate(root).equals(hex('0000000000000000 0000000000000000 0400000000000000 02000000 2cf25365 00000000 01000000 04 00')));
  });

  it('NORMAL messages: WRITE, truncate, RENAME, MTIME, UNLOCK_REQUEST', () => {
    const normal = (sub: number, time: number, count: bigint, parts: Buffer[]) => Buffer.concat([encodeNormalHeader(sub, 1, time, count), ...parts]);
    const fm = (m: Partial<FuseMessage>): FuseMessage => ({ offset: 0, flags: 0, path: null, to: null, data: null, ...m });
    assert.ok(
      normal(1, 1700000400, 7n, encodeFuseMessage(fm({ path: 'test.txt', data: Buffer.from('hi\n') }))).equals(
        hex('00000100 01000000 90f25365 00000000 0700000000000000 03000000 00000000 09000000 00000000 00000000 746573742e74787400 68690a'),
      ),
    );
    assert.ok(
      normal(1, 1700000401, 8n, encodeFuseMessage(fm({ path: 'test.txt', offset: 2, flags: 1 }))).equals(
        hex('00000100 01000000 91f25365 00000000 0800000000000000 00000000 02000000 09000000 00000000 01000000 746573742e74787400'),
      ),
    );
    assert.ok(
      normal(4, 1700000402, 9n, encodeFuseMessage(fm({ path: 'a', to: 'b' }))).equals(
        hex('00000400 01000000 92f25365 00000000 0900000000000000 00000000 00000000 02000000 02000000 00000000 6100 6200'),
      ),
    );
    assert.ok(
      normal(6, 1700000403, 10n, encodeFuseMessage(fm({ path: 'test.txt', offset: 1600000000 }))).equals(
        hex('00000600 01000000 93f25365 00000000 0a00000000000000 00000000 00105e5f 09000000 00000000 00000000 746573742e74787400'),
      ),
    );
    const csum = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
    assert.ok(normal(7, 1700000404, 11n, encodeUnlock({ csum, path: 'priv/lock/x' })).equals(Buffer.concat([hex('00000700 01000000 94f25365 00000000 0b00000000000000'), csum, Buffer.from('priv/lock/x\0')])));
  });

  it('SYNC_START, UPDATE_COMPLETE, VERIFY_REQUEST, VERIFY', () => {
    assert.ok(encodeStateHeader(DfsmMessageType.SYNC_START, 1, 1700000350, epoch).equals(hex('01000000 01000000 5ef25365 00000000 02000000 5ef25365 01000000 62100000')));
    assert.ok(encodeStateHeader(DfsmMessageType.UPDATE_COMPLETE, 1, 1700000351, epoch).equals(hex('04000000 01000000 5ff25365 00000000 02000000 5ef25365 01000000 62100000')));
    const vr = Buffer.concat([encodeStateHeader(DfsmMessageType.VERIFY_REQUEST, 1, 1700003950, epoch), encodeVerifyRequest(1n)]);
    assert.ok(vr.equals(hex('05000000 01000000 6e005465 00000000 02000000 5ef25365 01000000 62100000 0100000000000000')));
    const csum = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
    const v = Buffer.concat([encodeStateHeader(DfsmMessageType.VERIFY, 1, 1700003950, epoch), encodeVerify(1n, csum)]);
    assert.equal(v.length, 72);
    const dec = decodeDfsmMessage(v);
    assert.ok(dec.ok && dec.value.kind === 'state');
    const p = decodeVerify(dec.value.payload);
    assert.ok(p.ok && p.value.csumId === 1n && p.value.csum.equals(csum));
    assert.ok(!decodeVerify(csum).ok);
    assert.ok(decodeVerifyRequest(encodeVerifyRequest(5n)).ok);
    assert.ok(!decodeVerifyRequest(Buffer.alloc(9)).ok);
  });
});

function randomName(rng: Rng): string {
  const len = 1 + rng.int(20);
  let s = '';
  for (let i = 0; i < len; i++) s += String.fromCharCode(1 + rng.int(255));
  return s.replace(/\//g, '_');
}

function randomEntry(rng: Rng): EntryFields {
  const type = rng.chance(0.5) ? DT_DIR : DT_REG;
  const size = type === DT_REG ? rng.int(300) : 0;
  return {
    inode: rng.int(1 << 30),
    parent: rng.int(1 << 30),
    version: rng.int(2 ** 40),
    writer: rng.nextU32(),
    mtime: rng.nextU32(),
    size,
    type,
    name: randomName(rng),
    data: size > 0 ? Buffer.from(Array.from({ length: size }, () => rng.int(256))) : null,
  };
}

/**
 * The preimages of hash.ts written out field by field, one update each: the packed
 * one-call hashing must give the same digests for every entry size, across its
 * 64 KiB scratch boundary, for u64 values from 2^63, high-byte names and the
 * truncate quirk (size above the buffer's length).
 */
function streamedPreimage(e: EntryFields, withInode: boolean): Buffer[] {
  const fixed = Buffer.alloc(29);
  const u64 = (b: Buffer, at: number, v: number | bigint): void => {
    b.writeBigUInt64LE(BigInt(v), at);
  };
  u64(fixed, 0, e.version);
  fixed.writeUInt32LE(e.writer >>> 0, 8);
  fixed.writeUInt32LE(e.mtime >>> 0, 12);
  fixed.writeUInt32LE(e.size >>> 0, 16);
  fixed.writeUInt8(e.type & 0xff, 20);
  u64(fixed, 21, e.parent);
  const inode = Buffer.alloc(8);
  u64(inode, 0, e.inode);
  const data = e.type === DT_REG && e.size > 0 && e.data !== null ? [e.data.subarray(0, e.size)] : [];
  return [...(withInode ? [inode] : []), fixed, Buffer.from(e.name, 'latin1'), ...data];
}

function sha256(parts: Buffer[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

describe('entry hashing: packed in one call = streamed field by field', () => {
  it('digests, lock checksums and database checksums at every size', () => {
    const rng = new Rng(1414);
    const sizes = [0, 1, 100, 4096, 65536 - 29 - 20, 65536 - 8 - 29 - 12, 65535, 65536, 65537, 200_000, 1 << 20];
    const entries: EntryFields[] = [];
    for (let i = 0; i < 120; i++) {
      const size = i < sizes.length ? sizes[i]! : rng.int(3000);
      const big = rng.chance(0.2);
      const name = i === 3 ? 'x'.repeat(70_000) : i === 4 ? '\xff\x80\x01é' : `f${i}-${rng.int(1e6)}`;
      const data = rng.chance(0.9) ? Buffer.from(Array.from({ length: size }, () => rng.int(256))) : null;
      // The truncate quirk: a size above the buffer's length hashes the buffer only.
      const quirk = data !== null && size > 0 && rng.chance(0.1);
      entries.push({
        inode: big ? 2n ** 63n + BigInt(i) : i + 1,
        parent: big ? 2n ** 64n - 1n : rng.int(1000),
        version: big ? 2n ** 63n : rng.int(1 << 30),
        writer: rng.nextU32(),
        mtime: rng.nextU32(),
        size: quirk ? size + 5 : size,
        type: rng.chance(0.8) ? DT_REG : DT_DIR,
        name,
        data: quirk ? data.subarray(0, size) : data,
      });
    }
    for (const e of entries) {
      assert.equal(entryDigest(e).toString('hex'), sha256(streamedPreimage(e, false)), `digest, size ${e.size}`);
      assert.equal(entryDigestLatin1(e), entryDigest(e).toString('latin1'));
      assert.equal(entryCsum(e).toString('hex'), sha256(streamedPreimage(e, true)), `csum, size ${e.size}`);
    }
    assert.equal(databaseChecksum(entries).toString('hex'), sha256(entries.flatMap((e) => streamedPreimage(e, true))));
    assert.equal(databaseChecksum([]).toString('hex'), sha256([]));
    // Preimages that end one byte after the scratch (64 KiB) and exactly at it.
    const sized = (inode: number, bytes: number): EntryFields => ({ inode, parent: 1, version: 2, writer: 3, mtime: 4, size: bytes - 8 - 29 - 2, type: DT_REG, name: 'ab', data: Buffer.alloc(bytes - 8 - 29 - 2, inode) });
    for (const first of [65536 - 64 + 1, 65536 - 64, 65536 - 64 - 1]) {
      const pair = [sized(1, first), sized(2, 64), sized(3, 100)];
      assert.equal(databaseChecksum(pair).toString('hex'), sha256(pair.flatMap((e) => streamedPreimage(e, true))), `first ${first}`);
    }
  });
});

describe('round trips (seeded)', () => {
  it('UPDATE: 2000 random entries', () => {
    const rng = new Rng(42);
    for (let i = 0; i < 2000; i++) {
      const e = randomEntry(rng);
      const enc = encodeUpdate(e);
      const dec = decodeUpdate(enc);
      assert.ok(dec.ok);
      assert.deepEqual(dec.value, e);
      assert.ok(encodeUpdate(dec.value).equals(enc));
    }
  });

  it('UPDATE written in place: every byte of a dirty buffer, at an offset', () => {
    const rng = new Rng(43);
    for (let i = 0; i < 500; i++) {
      const e = randomEntry(rng);
      const enc = encodeUpdate(e);
      assert.equal(updateSize(e), enc.length);
      const at = rng.int(64);
      const buf = Buffer.alloc(at + enc.length + 8, 0xa5);
      assert.equal(writeUpdate(e, buf, at), at + enc.length);
      assert.ok(buf.subarray(at, at + enc.length).equals(enc));
      assert.ok(buf.subarray(0, at).every((b) => b === 0xa5) && buf.subarray(at + enc.length).every((b) => b === 0xa5));
    }
  });

  it('UPDATE of a file with a size but no data: refused before writing', () => {
    const e = { inode: 5, parent: 0, version: 5, writer: 1, mtime: 2, size: 3, type: 8, name: 'f', data: null };
    assert.throws(() => updateSize(e), /has size 3 but no data/);
  });

  it('fuse and unlock messages: 2000 random', () => {
    const rng = new Rng(7);
    for (let i = 0; i < 2000; i++) {
      const m: FuseMessage = {
        offset: rng.nextU32(),
        flags: rng.int(2),
        path: rng.chance(0.9) ? randomName(rng) : null,
        to: rng.chance(0.3) ? randomName(rng) : null,
        data: rng.chance(0.5) ? Buffer.from(randomName(rng), 'latin1') : null,
      };
      const enc = Buffer.concat(encodeFuseMessage(m));
      const dec = decodeFuseMessage(enc);
      assert.ok(dec.ok);
      assert.deepEqual({ ...dec.value, data: dec.value.data && Buffer.from(dec.value.data) }, m);
      const u = { csum: Buffer.from(Array.from({ length: 32 }, () => rng.int(256))), path: randomName(rng) };
      const ud = decodeUnlock(Buffer.concat(encodeUnlock(u)));
      assert.ok(ud.ok);
      assert.deepEqual(ud.value, u);
    }
  });

  it('index: random sorted entry sets', () => {
    const rng = new Rng(9);
    for (let i = 0; i < 200; i++) {
      const n = rng.int(50);
      const inodes = [...new Set(Array.from({ length: n }, () => rng.int(1 << 30)))].sort((x, y) => x - y);
      const entries = inodes.map((inode) => ({ inode, digest: Buffer.from(Array.from({ length: 32 }, () => rng.int(256))) }));
      const enc = encodeIndex({ version: rng.int(1 << 30), writer: rng.nextU32(), mtime: rng.nextU32() }, entries);
      const dec = decodeIndex(enc);
      assert.ok(dec.ok);
      assert.equal(dec.value.lastInode, inodes.length ? inodes[inodes.length - 1] : 0);
      assert.deepEqual(dec.value.inodes, inodes);
      assert.ok(encodeIndex(dec.value, indexEntries(dec.value)).equals(enc));
    }
  });
});

describe('hostile input: decoders never throw', () => {
  const samples = (): Buffer[] => {
    const fuse = Buffer.concat(encodeFuseMessage({ offset: 3, flags: 0, path: 'nodes/n1/qemu-server/100.conf', to: 'x', data: Buffer.from('abc') }));
    const update = encodeUpdate(a);
    const index = encodeIndex(root, [root, d, a].map((e) => ({ inode: e.inode, digest: entryDigest(e) })));
    return [fuse, update, index, Buffer.concat(encodeUnlock({ csum: Buffer.alloc(32, 1), path: 'priv/lock/a' }))];
  };

  it('every truncation of a valid payload is rejected (fuse, UPDATE, index, unlock)', () => {
    const [fuse, update, index, unlock] = samples();
    for (let n = 0; n < fuse!.length; n++) assert.equal(decodeFuseMessage(fuse!.subarray(0, n)).ok, false, `fuse cut at ${n}`);
    for (let n = 0; n < update!.length; n++) assert.equal(decodeUpdate(update!.subarray(0, n)).ok, false, `update cut at ${n}`);
    for (let n = 0; n < index!.length; n++) assert.equal(decodeIndex(index!.subarray(0, n)).ok, false, `index cut at ${n}`);
    for (let n = 0; n < unlock!.length; n++) assert.equal(decodeUnlock(unlock!.subarray(0, n)).ok, false, `unlock cut at ${n}`);
    // One byte too many is rejected as well (C requires exact lengths).
    assert.equal(decodeFuseMessage(Buffer.concat([fuse!, Buffer.alloc(1)])).ok, false);
    assert.equal(decodeUpdate(Buffer.concat([update!, Buffer.alloc(1)])).ok, false);
    assert.equal(decodeIndex(Buffer.concat([index!, Buffer.alloc(1)])).ok, false);
  });

  it('specific malformations get the right error codes', () => {
    const update = encodeUpdate(a);
    const badType = Buffer.from(update);
    badType[40] = 7;
    assert.deepEqual(decodeUpdate(badType), { ok: false, error: { code: 'TYPE', message: 'UPDATE entry type 7 is neither 4 nor 8' } });
    const noNul = Buffer.from(update);
    noNul[41 + 5] = 0x41;
    assert.equal((decodeUpdate(noNul) as { error: { code: string } }).error.code, 'NUL');
    // A 32-bit wrap of size + namelen must not pass (wire.md pitfall 3).
    const wrap = Buffer.from(update);
    wrap.writeUInt32LE(0xffffffff, 32);
    wrap.writeUInt32LE(update.length - 41 + 1, 36);
    assert.equal(decodeUpdate(wrap).ok, false);
    const fuse = Buffer.concat(encodeFuseMessage({ offset: 0, flags: 0, path: 'a', to: null, data: Buffer.from('xy') }));
    const fwrap = Buffer.from(fuse);
    fwrap.writeUInt32LE(0xfffffffe, 0); // size
    fwrap.writeUInt32LE(2 + 2 + 2, 8); // pathlen: sums to length + 2^32
    assert.equal(decodeFuseMessage(fwrap).ok, false);
    const unsorted = encodeIndex(root, [{ inode: 0, digest: Buffer.alloc(32) }, { inode: 5, digest: Buffer.alloc(32) }]);
    unsorted.writeUInt32LE(0, 72); // second inode 0: not ascending
    assert.equal((decodeIndex(unsorted) as { error: { code: string } }).error.code, 'ORDER');
    const lying = encodeIndex(root, [{ inode: 0, digest: Buffer.alloc(32) }]);
    lying.writeUInt32LE(1000, 24); // size lies, bytes is right
    assert.equal(decodeIndex(lying).ok, false);
    assert.equal(decodeDfsmMessage(Buffer.alloc(15)).ok, false);
    assert.equal(decodeDfsmMessage(Buffer.concat([encodeNormalHeader(1, 1, 0, 1n).subarray(0, 20)])).ok, false);
    assert.equal(decodeDfsmMessage(encodeStateHeader(DfsmMessageType.STATE, 1, 0, epoch).subarray(0, 31)).ok, false);
    // C treats every non-NORMAL type as a state message: 32 bytes needed, type judged later.
    assert.equal(decodeDfsmMessage(Buffer.alloc(16, 0x33)).ok, false);
    const unknown = decodeDfsmMessage(Buffer.alloc(32, 0x33));
    assert.ok(unknown.ok && unknown.value.kind === 'state' && unknown.value.base.type === 0x3333);
  });

  it('50,000 random and bit-flipped byte strings', () => {
    const rng = new Rng(1234);
    const base = samples();
    for (let i = 0; i < 50_000; i++) {
      let buf: Buffer;
      if (rng.chance(0.5)) {
        buf = Buffer.from(Array.from({ length: rng.int(120) }, () => rng.int(256)));
      } else {
        buf = Buffer.from(rng.pick(base));
        for (let k = 1 + rng.int(4); k > 0; k--) buf[rng.int(buf.length)] = rng.int(256);
      }
      for (const decode of [decodeFuseMessage, decodeUpdate, decodeIndex, decodeUnlock, decodeDfsmMessage, decodeVerify, decodeVerifyRequest] as ((b: Buffer) => { ok: boolean })[]) {
        const r = decode(buf);
        assert.equal(typeof r.ok, 'boolean');
      }
    }
  });
});
