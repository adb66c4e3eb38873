/**
 * The project's structural rules, checked on the sources (TigerStyle, issue 11):
 * no function in src/ longer than 70 lines, and no import cycle between src/ folders.
 * The scanner is lexical (strings, comments and template literals are skipped, braces
 * counted): enough for this code base's formatting (prettier-style, one statement per
 * line), with no TypeScript compiler API needed.
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { DAEMON_ENV, DAEMON_ENV_UNSET, daemonProcessEnv, daemonShebang } from '../../src/daemon/options.js';

export const MAX_FUNCTION_LINES = 70;
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const SRC = join(ROOT, 'src');

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** The text with comments, strings and template literals blanked (newlines kept). */
export function blank(text: string): string {
  let out = '';
  let i = 0;
  const keep = (c: string): string => (c === '\n' ? '\n' : ' ');
  while (i < text.length) {
    const c = text[i]!;
    const two = text.slice(i, i + 2);
    if (two === '//') {
      while (i < text.length && text[i] !== '\n') (out += ' '), i++;
    } else if (two === '/*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? text.length : end + 2;
      for (; i < stop; i++) out += keep(text[i]!);
    } else if (c === '"' || c === "'" || c === '`') {
      out += ' ';
      i++;
      let depth = 0;
      while (i < text.length && (text[i] !== c || depth > 0)) {
        if (text[i] === '\\') (out += '  '), (i += 2);
        else if (c === '`' && text.slice(i, i + 2) === '${') (depth++, (out += '  '), (i += 2));
        else if (c === '`' && depth > 0 && text[i] === '}') (depth--, (out += ' '), i++);
        else (out += keep(text[i]!)), i++;
      }
      out += ' ';
      i++;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** A line that opens a function body: declarations, methods, accessors, arrows with a block. */
const FUNCTION_START = [
  /^\s*(export\s+)?(default\s+)?(async\s+)?function\b/,
  /^\s*(public\s+|private\s+|protected\s+|static\s+|readonly\s+|async\s+|get\s+|set\s+|override\s+)*[A-Za-z_$][\w$]*\s*(<[^>]*>)?\s*\(.*\)\s*(:\s*[^={]+)?\{\s*$/,
  /=>\s*\{\s*$/,
];
const NOT_FUNCTION = /^\s*(if|for|while|switch|catch|return|else|do|try)\b/;

export interface LongFunction {
  readonly file: string;
  readonly line: number;
  readonly lines: number;
}

export function longFunctions(file: string, text: string, max = MAX_FUNCTION_LINES): LongFunction[] {
  const lines = blank(text).split('\n');
  const out: LongFunction[] = [];
  for (let start = 0; start < lines.length; start++) {
    const l = lines[start]!;
    if (NOT_FUNCTION.test(l) || !FUNCTION_START.some((r) => r.test(l)) || !l.includes('{')) continue;
    let depth = 0;
    let end = start;
    for (let j = start; j < lines.length; j++) {
      for (const ch of lines[j]!) depth += ch === '{' ? 1 : ch === '}' ? -1 : 0;
      if (depth <= 0) {
        end = j;
        break;
      }
    }
    const n = end - start + 1;
    if (n > max) out.push({ file, line: start + 1, lines: n });
  }
  return out;
}

/** src/<folder> → folders it imports from (relative imports only). */
function folderImports(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const f of files(SRC)) {
    const folder = relative(SRC, dirname(f)).split('/')[0]!;
    const deps = graph.get(folder) ?? new Set<string>();
    graph.set(folder, deps);
    for (const m of readFileSync(f, 'utf8').matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gms)) {
      const target = relative(SRC, resolve(dirname(f), m[1]!)).split('/')[0]!;
      if (target !== folder && !target.startsWith('..') && !target.endsWith('.js')) deps.add(target);
    }
  }
  return graph;
}

function cycles(graph: Map<string, Set<string>>): string[] {
  const found: string[] = [];
  const visit = (node: string, path: string[]): void => {
    for (const next of graph.get(node) ?? []) {
      const at = path.indexOf(next);
      if (at >= 0) found.push([...path.slice(at), next].join(' → '));
      else visit(next, [...path, next]);
    }
  };
  for (const node of graph.keys()) visit(node, [node]);
  return found;
}

describe('source structure', () => {
  it(`no function in src/ is longer than ${MAX_FUNCTION_LINES} lines`, () => {
    const long = files(SRC).flatMap((f) => longFunctions(relative(ROOT, f), readFileSync(f, 'utf8')));
    assert.deepEqual(long.map((l) => `${l.file}:${l.line} (${l.lines} lines)`), []);
  });

  it('the scanner finds a long function and skips braces in strings and comments', () => {
    const body = Array.from({ length: 75 }, (_, k) => `  x += ${k}; // {`).join('\n');
    const text = `function f() {\n  const s = '}}}';\n${body}\n}\nconst g = () => {\n  return \`\${'{'}\`;\n};\n`;
    assert.deepEqual(longFunctions('t.ts', text), [{ file: 't.ts', line: 1, lines: 78 }]);
  });

  it('no import cycle between folders of src/', () => {
    const graph = folderImports();
    assert.ok(graph.has('fuse') && graph.get('fuse')!.has('fsops'), 'the import graph was read (fuse imports fsops)');
    assert.deepEqual([...new Set(cycles(graph))], []);
  });

  it('the daemon starts without NODE_EXTRA_CA_CERTS: its bin drops it (Node would read the file at boot), the lab and daemonize too', () => {
    const extra = { NODE_EXTRA_CA_CERTS: '/nonexistent/pmxcfs-ts-test-ca.pem' };
    // Node warns at boot when it cannot read the file: the warning shows it was read.
    const plain = spawnSync(process.execPath, [join(ROOT, 'bin', 'pmxcfs-ts.mjs'), 'help'], { env: { ...process.env, ...extra }, encoding: 'utf8' });
    assert.match(plain.stderr, /Ignoring extra certs/, 'node itself reads NODE_EXTRA_CA_CERTS');
    for (const bin of ['pmxcfs.mjs', 'pmxcfs-ts.mjs']) {
      const run = spawnSync(join(ROOT, 'bin', bin), ['--help'], { env: { ...process.env, ...extra }, encoding: 'utf8' });
      assert.doesNotMatch(run.stderr, /Ignoring extra certs/, bin);
      assert.equal(run.error, undefined, bin);
    }
    const env = daemonProcessEnv({ ...extra, KEEP: '1' }, { ADDED: '2' });
    assert.deepEqual(DAEMON_ENV_UNSET, ['NODE_EXTRA_CA_CERTS']);
    assert.deepEqual(env, { KEEP: '1', ...DAEMON_ENV, ADDED: '2' });
  });

  it('DAEMON_V8_FLAGS, set at run time, keep the young generation at its initial size', () => {
    const newSpaceAfterChurn = (apply: boolean): number => {
      const script = [
        `const o = await import(${JSON.stringify(join(ROOT, 'dist', 'src', 'daemon', 'options.js'))});`,
        apply ? 'o.applyDaemonV8Flags();' : '',
        'const v8 = await import("node:v8"); let keep = [];',
        'for (let i = 0; i < 3e6; i++) { keep.push({ i }); if (keep.length > 1e5) keep = []; }',
        'console.log(v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size);',
      ].join(' ');
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return Number(r.stdout.trim());
    };
    const MiB = 1024 * 1024;
    assert.ok(newSpaceAfterChurn(false) > 4 * MiB, 'without the flags V8 grows the young generation');
    assert.ok(newSpaceAfterChurn(true) <= 2 * MiB);
  });

  it("the bins' shebang sets DAEMON_ENV and no node flag (what the lab and the bench pass)", () => {
    assert.ok(daemonShebang().endsWith(' node'));
    for (const bin of ['pmxcfs.mjs', 'pmxcfs-ts.mjs']) {
      const first = readFileSync(join(ROOT, 'bin', bin), 'utf8').split('\n')[0]!;
      assert.equal(first, daemonShebang(), bin);
    }
  });
});
