// Throughput and latency of `hearth serve` as a client sees it (not a test; run by hand):
//   HEARTH_BIN=build/tools/hearth node tests/node/server_bench.mjs [MODEL.gguf] [--tokens 64]
// Starts the server (on the test model when no GGUF is given) and reports, for 1, 4 and 16
// concurrent streaming greedy requests: aggregate decode tokens/s, time to first token (p50, max),
// and the server's own overhead per request: the wall time of a 1-token request minus the time
// the engine reports for it (x_timings queue + prompt + decode).
import { spawn } from 'node:child_process';
import { startServer } from './server_harness.mjs';

const args = process.argv.slice(2);
const tokensAt = args.indexOf('--tokens');
const maxTokens = tokensAt >= 0 ? Number(args[tokensAt + 1]) : 64;
const modelArg = args.find((a) => a.endsWith('.gguf'));

async function start() {
  if (!modelArg) return startServer(['--parallel', '16', '-c', '1024']);
  const proc = spawn(process.env.HEARTH_BIN, ['serve', '-m', modelArg, '--port', '0', '--parallel', '16'],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const url = await new Promise((resolve) => proc.stderr.on('data', (d) => {
    err += d;
    const m = err.match(/listening on (http:\/\/\S+)/);
    if (m) resolve(m[1]);
  }));
  while ((await fetch(`${url}/health`).catch(() => ({ status: 0 }))).status !== 200) {
    await new Promise((r) => setTimeout(r, 200));
  }
  const name = modelArg.split('/').pop().replace(/\.gguf$/, '');
  return { url, model: name, stop: () => proc.kill('SIGTERM') };
}

const server = await start();
const body = (content, n) => JSON.stringify({ model: server.model, temperature: 0, max_tokens: n,
  messages: [{ role: 'user', content }], stream: true, stream_options: { include_usage: true } });

async function one(i) {
  const t0 = performance.now();
  const r = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', body: body(`prompt ${i}`, maxTokens),
    headers: { 'content-type': 'application/json' } });
  const reader = r.body.getReader();
  const dec = new TextDecoder();
  let buf = '', ttft = -1, tokens = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let k;
    while ((k = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, k); buf = buf.slice(k + 2);
      if (!ev.startsWith('data: ') || ev === 'data: [DONE]') continue;
      const c = JSON.parse(ev.slice(6));
      if (c.choices?.[0]?.delta?.content && ttft < 0) ttft = performance.now() - t0;
      if (c.usage) tokens = c.usage.completion_tokens;
    }
  }
  return { ttft, tokens, ms: performance.now() - t0 };
}

console.log(`model ${server.model}, ${maxTokens} tokens per request`);
for (const n of [1, 4, 16]) {
  await one(-1);  // warm
  const t0 = performance.now();
  const runs = await Promise.all(Array.from({ length: n }, (_, i) => one(i)));
  const secs = (performance.now() - t0) / 1000;
  const total = runs.reduce((a, r) => a + r.tokens, 0);
  const ttfts = runs.map((r) => r.ttft).sort((a, b) => a - b);
  console.log(`${String(n).padStart(2)} streams: ${(total / secs).toFixed(1)} tok/s aggregate, ` +
    `TTFT p50 ${ttfts[Math.floor(n / 2)].toFixed(1)} ms, max ${ttfts[n - 1].toFixed(1)} ms`);
}
const over = [];
for (let i = 0; i < 200; i++) {
  const t0 = performance.now();
  const r = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: server.model, max_tokens: 1, messages: [{ role: 'user', content: 'hi' }] }) });
  const j = await r.json();
  const wall = performance.now() - t0;
  const x = j.x_timings;
  if (i >= 20) over.push(wall - (x.queue_ms + x.prompt_ms + x.decode_ms));
}
over.sort((a, b) => a - b);
console.log(`server overhead per request: p50 ${over[Math.floor(over.length / 2)].toFixed(2)} ms, ` +
  `p99 ${over[Math.floor(over.length * 0.99)].toFixed(2)} ms (HTTP, JSON, queue hand-off; client included)`);
await server.stop();
