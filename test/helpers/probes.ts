/**
 * Shell probes shared by the FUSE tests (local mount and lab cluster), issue 16.
 */

/** 2^40 and 2^32: offsets a 32-bit field would cut to 0. */
const FAR = [2 ** 40, 2 ** 32];

/**
 * Commands that try to write, truncate or fallocate `file` far beyond 1 MiB, each with
 * the error it must fail with (fallocate is not implemented, as in C: EOPNOTSUPP).
 */
export function farOffsetProbes(file: string): { cmd: string; err: RegExp }[] {
  const probes = FAR.map((off) => ({ cmd: `printf x | dd of=${file} bs=1 seek=${off} conv=notrunc status=none`, err: /File too large/ }));
  probes.push({ cmd: `truncate -s ${2 ** 40} ${file}`, err: /File too large/ });
  probes.push({ cmd: `fallocate -o ${2 ** 40} -l 1 ${file}`, err: /not supported/ });
  return probes;
}
