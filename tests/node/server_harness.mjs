// Starts a real `hearth serve` for the node tests (server_openai.test.mjs, server_ollama.test.mjs):
// a random-weight test model made with `hearth make-test-model`, the server on 127.0.0.1 with
// --port 0, its URL read from the "listening on" line, ready once /health answers 200.
// HEARTH_BIN names the binary (CTest sets it); HEARTH_TEST_DIR a scratch folder.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const here = path.dirname(new URL(import.meta.url).pathname);
export const HEARTH_BIN = process.env.HEARTH_BIN ||
  path.resolve(here, '../../build/tools/hearth');

export function testModel() {
  const dir = process.env.HEARTH_TEST_DIR || fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-node-'));
  fs.mkdirSync(dir, { recursive: true });
  const model = path.join(dir, 'tiny.gguf');
  if (!fs.existsSync(model)) {
    execFileSync(HEARTH_BIN, ['make-test-model', '-o', model, '--variant', 'g3-1b', '--seed', '7'],
      { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return model;
}

// `model` defaults to the generated test model; the media tests pass the golden 12B-unified file
// and give --mmproj in extraArgs.
export async function startServer(extraArgs = [], model = testModel()) {
  // Defaults the caller's arguments may override.
  const defaults = [['--parallel', '4'], ['-c', '1024']].filter(([k]) => !extraArgs.includes(k)).flat();
  const proc = spawn(HEARTH_BIN, ['serve', '-m', model, '--host', '127.0.0.1', '--port', '0',
    ...defaults, ...extraArgs], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening on" line in 60 s:\n${stderr}`)),
      60000);
    proc.stderr.on('data', (d) => {
      stderr += d.toString();
      const m = stderr.match(/listening on (http:\/\/[^\s]+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`hearth serve exited with ${code}:\n${stderr}`));
    });
  });
  proc.removeAllListeners('exit');
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  for (let i = 0; i < 600; i++) {
    const r = await fetch(`${url}/health`).catch(() => null);
    if (r && r.status === 200) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  return {
    url,
    model: path.basename(model, '.gguf'),
    log: () => stderr,
    async stop() {
      proc.kill('SIGTERM');
      return exited;
    },
  };
}

// Polls until `fn` returns true (or throws after `ms`).
export async function eventually(fn, ms = 10000, what = 'condition') {
  const end = Date.now() + ms;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

// One gauge or counter value from /metrics (first sample of that name).
export async function metric(url, name) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}
