// Server throughput and latency: N concurrent streaming chat requests against a running
// `hearth serve`, for each N given. Reports, per N: aggregate decode tokens/s (all streams'
// completion tokens over the wall time from the first to the last token), time to first token
// (mean, max), and the server's own overhead per request measured on small non-streamed requests
// (client-side latency minus the engine's queue + prompt + decode time from x_timings).
//
//   node bench/server_bench.mjs --url http://127.0.0.1:8080 --streams 1,4,16 --tokens 64
//        [--overhead-requests 200] [--json]
const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => {
    if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]?.startsWith('--') ? 'true' : all[i + 1] ?? 'true']);
    return acc;
  }, []));
const url = args.url ?? 'http://127.0.0.1:8080';
const streams = (args.streams ?? '1,4,16').split(',').map(Number);
const tokens = Number(args.tokens ?? 64);
const overheadRequests = Number(args['overhead-requests'] ?? 100);

async function streamOne(i) {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      messages: [{ role: 'user', content: `Request ${i}: tell me a story about the number ${i}.` }],
      max_tokens: tokens, temperature: 0, ignore_eos: true, stream: true,
      stream_options: { include_usage: true },
    }),
  });
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  const decoder = new TextDecoder();
  let buf = '', first = -1, last = -1, usage = null;
  for await (const part of res.body) {
    buf += decoder.decode(part, { stream: true });
    let nl;
    while ((nl = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, nl); buf = buf.slice(nl + 2);
      if (!ev.startsWith('data: ')) continue;
      const data = ev.slice(6);
      if (data === '[DONE]') continue;
      const j = JSON.parse(data);
      if (j.usage) usage = j.usage;
      if (j.choices?.[0]?.delta?.content) {
        const now = performance.now();
        if (first < 0) first = now;
        last = now;
      }
    }
  }
  return { t0, first, last, completion: usage?.completion_tokens ?? 0 };
}

async function concurrency(n) {
  const runs = await Promise.all(Array.from({ length: n }, (_, i) => streamOne(i)));
  const firsts = runs.map((r) => r.first), lasts = runs.map((r) => r.last);
  const total = runs.reduce((s, r) => s + r.completion, 0);
  const wall = (Math.max(...lasts) - Math.min(...firsts)) / 1000;
  const ttft = runs.map((r) => r.first - r.t0);
  return {
    streams: n, completion_tokens: total,
    aggregate_tokens_per_s: (total - n) / wall,  // the first token of each stream is prefill's
    ttft_ms_mean: ttft.reduce((a, b) => a + b, 0) / n, ttft_ms_max: Math.max(...ttft),
  };
}

async function overhead() {
  const samples = [];
  for (let i = 0; i < overheadRequests; ++i) {
    const t0 = performance.now();
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 1, temperature: 0 }),
    });
    const j = await res.json();
    const t = performance.now() - t0;
    const x = j.x_timings;
    samples.push(t - (x.queue_ms + x.prompt_ms + x.decode_ms));
  }
  samples.sort((a, b) => a - b);
  return { requests: samples.length, p50_ms: samples[samples.length >> 1],
           p90_ms: samples[Math.floor(samples.length * 0.9)] };
}

const results = [];
await streamOne(0);  // warm-up: pages in the weights
for (const n of streams) results.push(await concurrency(n));
const oh = overheadRequests > 0 ? await overhead() : null;
if (args.json) {
  console.log(JSON.stringify({ url, tokens, results, overhead: oh }));
} else {
  console.log(`streams  tokens  aggregate tok/s  TTFT mean ms  TTFT max ms`);
  for (const r of results)
    console.log(`${String(r.streams).padStart(7)}  ${String(r.completion_tokens).padStart(6)}  ` +
                `${r.aggregate_tokens_per_s.toFixed(1).padStart(15)}  ${r.ttft_ms_mean.toFixed(0).padStart(12)}  ` +
                `${r.ttft_ms_max.toFixed(0).padStart(11)}`);
  if (oh) console.log(`server overhead per request (client latency - engine time): p50 ${oh.p50_ms.toFixed(2)} ms, p90 ${oh.p90_ms.toFixed(2)} ms over ${oh.requests} requests`);
}
