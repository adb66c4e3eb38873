/**
 * Drive a cpg-agent (cpg-agent.ts) running inside a lab node: JSON lines over pipes.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Lab } from './lab.js';

export type AgentEvent = { ev: string } & Record<string, unknown>;

export const AGENT_SCRIPT = fileURLToPath(new URL('./cpg-agent.js', import.meta.url));

export class Agent {
  readonly events: AgentEvent[] = [];
  readonly child: ChildProcess;
  private listeners: (() => void)[] = [];
  private buffer = '';
  exited = false;

  constructor(lab: Lab, node: number, args: readonly string[] = []) {
    const argv = [...lab.enter(node), process.execPath, AGENT_SCRIPT, ...args];
    this.child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (s: string) => {
      this.buffer += s;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        if (line.trim() === '') continue;
        try {
          this.events.push(JSON.parse(line) as AgentEvent);
        } catch {
          this.events.push({ ev: 'garbage', line });
        }
      }
      this.notify();
    });
    this.child.on('exit', () => {
      this.exited = true;
      this.notify();
    });
    this.child.stdin!.on('error', () => {});
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  send(cmd: Record<string, unknown>): void {
    this.child.stdin!.write(JSON.stringify(cmd) + '\n');
  }

  /** Wait for the first event at index ≥ from matching pred. */
  waitFor(pred: (e: AgentEvent) => boolean, timeoutMs = 10000, from = 0): Promise<AgentEvent> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        for (let k = from; k < this.events.length; k++) {
          if (pred(this.events[k]!)) {
            resolve(this.events[k]!);
            return true;
          }
        }
        return false;
      };
      if (check()) return;
      const timer = setTimeout(() => {
        this.listeners = this.listeners.filter((l) => l !== listener);
        reject(new Error(`agent ${this.pid}: timeout after ${timeoutMs} ms; last events: ${JSON.stringify(this.events.slice(-5))}`));
      }, timeoutMs);
      const listener = (): void => {
        if (check()) {
          clearTimeout(timer);
          this.listeners = this.listeners.filter((l) => l !== listener);
        }
      };
      this.listeners.push(listener);
    });
  }

  /** Send a command and wait for the next event named `ev`. */
  async request(cmd: Record<string, unknown>, ev: string, timeoutMs = 30000): Promise<AgentEvent> {
    const from = this.events.length;
    this.send(cmd);
    return this.waitFor((e) => e.ev === ev, timeoutMs, from);
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.exited) this.child.kill(signal);
  }

  async close(): Promise<void> {
    if (this.exited) return;
    this.send({ cmd: 'exit' });
    const t = setTimeout(() => this.kill(), 2000);
    await new Promise<void>((r) => (this.exited ? r() : this.child.once('exit', () => r())));
    clearTimeout(t);
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }
}
