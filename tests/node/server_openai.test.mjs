// The official, unmodified `openai` npm client against a real `hearth serve` on a test model:
// models, chat (plain, streamed with the usage chunk, logprobs), legacy completions, errors as
// the SDK raises them, and 16 concurrent streams each equal to a lone greedy run, with some
// streams aborted midway leaving the server healthy.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, eventually, metric, testModel, HEARTH_BIN } from './server_harness.mjs';

let server;
let client;

before(async () => {
  server = await startServer();
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});

after(async () => {
  const { code, signal } = await server.stop();
  assert.equal(signal, null, `server died by ${signal}`);
  assert.equal(code, 0, server.log());
});

const greedy = (content, max_tokens = 12) => ({
  model: server.model,
  messages: [{ role: 'user', content }],
  temperature: 0,
  max_tokens,
});

async function streamText(body, signal) {
  const stream = await client.chat.completions.create({ ...body, stream: true }, { signal });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
  return text;
}

test('models list names the served model', async () => {
  const page = await client.models.list();
  const ids = page.data.map((m) => m.id);
  assert.ok(ids.includes(server.model), JSON.stringify(ids));
  const one = await client.models.retrieve(server.model);
  assert.equal(one.id, server.model);
});

test('chat completion: shape and usage', async () => {
  const r = await client.chat.completions.create(greedy('Hello there', 8));
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(typeof r.choices[0].message.content, 'string');
  assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
  assert.ok(r.usage.prompt_tokens > 0);
  assert.ok(r.usage.completion_tokens > 0 && r.usage.completion_tokens <= 8);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  assert.equal(typeof r.usage.prompt_tokens_details.cached_tokens, 'number');
});

test('streaming: chunks add up to the greedy answer, usage chunk last', async () => {
  const lone = await client.chat.completions.create(greedy('Tell me a story', 16));
  const stream = await client.chat.completions.create({
    ...greedy('Tell me a story', 16), stream: true, stream_options: { include_usage: true },
  });
  let text = '';
  const chunks = [];
  for await (const chunk of stream) {
    chunks.push(chunk);
    text += chunk.choices[0]?.delta?.content ?? '';
  }
  assert.equal(text, lone.choices[0].message.content);
  const last = chunks[chunks.length - 1];
  assert.deepEqual(last.choices, []);
  assert.equal(last.usage.completion_tokens, lone.usage.completion_tokens);
  assert.equal(chunks[0].object, 'chat.completion.chunk');
  assert.equal(chunks[0].choices[0].delta.role, 'assistant');
});

test('logprobs with top_logprobs', async () => {
  const r = await client.chat.completions.create({ ...greedy('Hi', 4), logprobs: true, top_logprobs: 2 });
  const lp = r.choices[0].logprobs.content;
  assert.equal(lp.length, r.usage.completion_tokens);
  for (const t of lp) {
    assert.equal(typeof t.token, 'string');
    assert.ok(t.logprob <= 0);
    assert.equal(t.top_logprobs.length, 2);
  }
});

test('legacy completions', async () => {
  const r = await client.completions.create({ model: server.model, prompt: 'Once upon', max_tokens: 5, temperature: 0 });
  assert.equal(r.object, 'text_completion');
  assert.equal(typeof r.choices[0].text, 'string');
  assert.ok(r.usage.completion_tokens > 0);
});

test('errors surface as the SDK\'s typed errors', async () => {
  await assert.rejects(client.chat.completions.create({ ...greedy('x'), temperature: 'hot' }),
    (e) => e instanceof OpenAI.BadRequestError && e.status === 400 && /temperature/.test(e.message));
  await assert.rejects(client.chat.completions.create({ ...greedy('x'), model: 'no-such-model' }),
    (e) => e instanceof OpenAI.NotFoundError && e.status === 404);
  await assert.rejects(client.chat.completions.create({ ...greedy('x'), bogus_field: 1 }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'bogus_field');
  // Remote media is refused: the server never fetches URLs for a client.
  await assert.rejects(client.chat.completions.create({
    ...greedy('x'),
    messages: [{ role: 'user', content: [{ type: 'text', text: 'what is it' },
      { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] }],
  }), (e) => e instanceof OpenAI.BadRequestError && /does not fetch/.test(e.message));
  // An image for a text-only model, and audio that is not base64.
  await assert.rejects(client.chat.completions.create({
    ...greedy('x'),
    messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] }],
  }), (e) => e instanceof OpenAI.BadRequestError);
  await assert.rejects(client.chat.completions.create({
    ...greedy('x'),
    messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: '%%%not base64', format: 'wav' } }] }],
  }), (e) => e instanceof OpenAI.BadRequestError);
  // A prompt longer than the context: a 400 naming both numbers, never silent truncation.
  await assert.rejects(client.chat.completions.create(greedy('word '.repeat(1500))),
    (e) => e instanceof OpenAI.BadRequestError && /1024/.test(e.message) && /\d{4,} tokens/.test(e.message));
  // A streamed request that fails before its first token is still an HTTP error.
  await assert.rejects(streamText({ ...greedy('x'), top_k: 'many' }),
    (e) => e instanceof OpenAI.BadRequestError);
});

test('malformed JSON and a 50 MB body are 4xx with an OpenAI error body', async () => {
  let r = await fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model": "x",,}',
  });
  assert.equal(r.status, 400);
  let j = await r.json();
  assert.equal(j.error.type, 'invalid_request_error');
  assert.match(j.error.message, /at byte \d+/);
  r = await fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: server.model, messages: [{ role: 'user', content: 'x'.repeat(50 << 20) }] }),
  });
  assert.equal(r.status, 413);
  j = await r.json();
  assert.ok(j.error.message.includes('limit'));
  assert.equal((await fetch(`${server.url}/health`)).status, 200);
});

test('16 concurrent greedy streams each equal a lone run; aborted streams free their sequences', async () => {
  const prompts = ['alpha', 'bravo charlie', 'delta echo foxtrot', 'golf'];
  const lone = [];
  for (const p of prompts) lone.push((await client.chat.completions.create(greedy(p, 16))).choices[0].message.content);
  const runs = Array.from({ length: 16 }, (_, i) => streamText(greedy(prompts[i % 4], 16)));
  const got = await Promise.all(runs);
  got.forEach((text, i) => assert.equal(text, lone[i % 4], `stream ${i}`));

  // Abort 6 long streams (900 tokens, several seconds each when left alone) after their second
  // content chunk, alongside 4 that run to the end. The server must notice each client leaving
  // and free its sequence at once: every sequence is free again long before 900 tokens.
  const aborted = Array.from({ length: 6 }, async () => {
    const controller = new AbortController();
    const stream = await client.chat.completions.create({ ...greedy('zulu', 900), stream: true },
      { signal: controller.signal });
    let n = 0;
    try {
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta?.content !== undefined && ++n >= 2) controller.abort();
      }
    } catch (e) {
      assert.ok(e.name === 'AbortError' || e instanceof OpenAI.APIUserAbortError, String(e));
    }
    return n;
  });
  const complete = prompts.map((p) => streamText(greedy(p, 16)));
  const [counts, c] = await Promise.all([Promise.all(aborted), Promise.all(complete)]);
  const abortedAt = Date.now();
  counts.forEach((n) => assert.ok(n < 100, `a stream ran on after its abort (${n} chunks)`));
  c.forEach((text, i) => assert.equal(text, lone[i]));
  await eventually(async () => (await metric(server.url, 'hearth_requests_active')) === 0, 3000,
    'every aborted sequence to be freed');
  assert.ok(Date.now() - abortedAt < 3000);
  assert.equal(await metric(server.url, 'hearth_requests_queued'), 0);
  assert.equal((await fetch(`${server.url}/health`)).status, 200);
  const again = await client.chat.completions.create(greedy(prompts[0], 16));
  assert.equal(again.choices[0].message.content, lone[0]);
});

test('an API key is enforced as the SDK expects', async () => {
  const locked = await startServer(['--api-key', 'correct-horse-battery']);
  try {
    const wrong = new OpenAI({ baseURL: `${locked.url}/v1`, apiKey: 'wrong-key', maxRetries: 0 });
    await assert.rejects(wrong.models.list(),
      (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
    const right = new OpenAI({ baseURL: `${locked.url}/v1`, apiKey: 'correct-horse-battery', maxRetries: 0 });
    const r = await right.chat.completions.create({ ...greedy('hi', 3), model: locked.model });
    assert.ok(r.usage.completion_tokens > 0);
    assert.equal((await fetch(`${locked.url}/health`)).status, 200, 'health needs no key');
  } finally {
    const { code } = await locked.stop();
    assert.equal(code, 0);
  }
});

test('bad command lines fail with a clear message', async () => {
  const run = (args) => new Promise((resolve) => {
    execFile(HEARTH_BIN, ['serve', ...args], { timeout: 20000 }, (err, stdout, stderr) =>
      resolve({ code: err ? err.code : 0, text: stdout + stderr }));
  });
  // (With no -m at all, serve runs the shipped demo model: not an error.)
  let r = await run(['-m', testModel(), '--parallel', '0']);
  assert.notEqual(r.code, 0);
  assert.match(r.text, /--parallel must be at least 1/);
  r = await run(['-m', testModel(), '--keep-alive', 'forever']);
  assert.notEqual(r.code, 0);
  assert.match(r.text, /keep-alive/);
  r = await run(['-m', '/nonexistent/model.gguf', '--port', '0']);
  assert.notEqual(r.code, 0);
  assert.match(r.text, /nonexistent/);
  const port = new URL(server.url).port;
  r = await run(['-m', testModel(), '--port', port]);
  assert.notEqual(r.code, 0);
  assert.match(r.text, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}`));
});

test('with --policy the router answers with x_route and keeps sensitive requests local', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-policy-'));
  const policy = path.join(dir, 'policy.toml');
  // A cloud backend that --offline never creates: everything must run here.
  fs.writeFileSync(policy, `[[backend]]
name = "cloud-main"
tier = "cloud"
kind = "openai"
url = "https://api.openai.com/v1"
model = "gpt-4o"

[defaults]
action = "escalate"
tier = "cloud"
on_cloud_unavailable = "local"
`);
  const routed = await startServer(['--policy', policy, '--offline', '--ledger', path.join(dir, 'ledger.sqlite')]);
  try {
    const c = new OpenAI({ baseURL: `${routed.url}/v1`, apiKey: 'unused', maxRetries: 0,
      defaultHeaders: { 'X-Hearth-Sensitivity': 'confidential' } });
    const r = await c.chat.completions.create({ ...greedy('my card is 4111 1111 1111 1111', 3), model: 'auto' });
    assert.equal(r.x_route.tier, 'device');
    assert.equal(r.x_route.backend, 'local');
    const stream = await c.chat.completions.create({ ...greedy('hello', 3), model: 'auto', stream: true });
    let first = null;
    for await (const chunk of stream) first ??= chunk;
    assert.equal(first.x_route.tier, 'device');
    const metrics = await (await fetch(`${routed.url}/metrics`)).text();
    assert.match(metrics, /hearth_router_requests_total\{tier="device",backend="local"\} 2/);
  } finally {
    assert.equal((await routed.stop()).code, 0);
  }
});
