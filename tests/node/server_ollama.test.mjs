// The official, unmodified `ollama` npm client against a real `hearth serve` on a test model:
// chat and generate (plain and streamed), tags, show, ps, version, load/unload, and errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Ollama } from 'ollama';
import { startServer } from './server_harness.mjs';

let server;
let ollama;

before(async () => {
  server = await startServer();
  ollama = new Ollama({ host: server.url });
});

after(async () => {
  const { code, signal } = await server.stop();
  assert.equal(signal, null);
  assert.equal(code, 0, server.log());
});

const options = { temperature: 0, num_predict: 10 };

test('chat, plain and streamed, agree under greedy decoding', async () => {
  const messages = [{ role: 'user', content: 'Why is the sky blue?' }];
  const r = await ollama.chat({ model: server.model, messages, options });
  assert.equal(r.message.role, 'assistant');
  assert.equal(typeof r.message.content, 'string');
  assert.equal(r.done, true);
  assert.ok(['stop', 'length'].includes(r.done_reason));
  assert.ok(r.eval_count > 0 && r.eval_count <= 10);
  assert.ok(r.prompt_eval_count > 0);
  for (const k of ['total_duration', 'load_duration', 'prompt_eval_duration', 'eval_duration']) {
    assert.equal(typeof r[k], 'number', k);
  }
  assert.ok(r.total_duration >= r.eval_duration);

  const parts = [];
  for await (const part of await ollama.chat({ model: server.model, messages, options, stream: true })) {
    parts.push(part);
  }
  const last = parts[parts.length - 1];
  assert.equal(last.done, true);
  assert.equal(last.eval_count, r.eval_count);
  assert.equal(parts.map((p) => p.message.content).join(''), r.message.content);
  assert.ok(parts.slice(0, -1).every((p) => p.done === false));
});

test('generate, templated and raw, plain and streamed', async () => {
  const r = await ollama.generate({ model: server.model, prompt: 'Once upon a time', options });
  assert.equal(typeof r.response, 'string');
  assert.equal(r.done, true);
  let text = '';
  for await (const part of await ollama.generate({ model: server.model, prompt: 'Once upon a time', options, stream: true })) {
    text += part.response;
  }
  assert.equal(text, r.response);
  const raw = await ollama.generate({ model: server.model, prompt: 'Once upon a time', raw: true, options });
  assert.equal(typeof raw.response, 'string');
  assert.ok(raw.prompt_eval_count < r.prompt_eval_count, 'raw skips the chat template');
});

test('tags, show, ps, version', async () => {
  const tags = await ollama.list();
  const m = tags.models.find((x) => x.name === server.model);
  assert.ok(m, JSON.stringify(tags));
  assert.equal(m.details.format, 'gguf');
  assert.equal(m.details.family, 'gemma3');
  assert.ok(m.size > 0);
  const show = await ollama.show({ model: server.model });
  assert.equal(show.details.family, 'gemma3');
  assert.equal(typeof show.template, 'string');
  assert.ok(show.model_info['general.architecture']);
  const ps = await ollama.ps();
  assert.ok(ps.models.some((x) => x.name === server.model));
  const v = await ollama.version();
  assert.match(v.version, /^\d+\.\d+\.\d+/);
});

test('load and unload with keep_alive', async () => {
  let r = await ollama.generate({ model: server.model, prompt: '', keep_alive: '10m' });
  assert.equal(r.done_reason, 'load');
  r = await ollama.chat({ model: server.model, messages: [], keep_alive: 0 });
  assert.equal(r.done_reason, 'unload');
  // Loaded again on demand.
  r = await ollama.chat({ model: server.model, messages: [{ role: 'user', content: 'hi' }], options });
  assert.equal(r.done, true);
});

test('errors: unknown options, too large num_ctx, unknown model, bad images', async () => {
  await assert.rejects(ollama.chat({ model: server.model, messages: [{ role: 'user', content: 'x' }],
    options: { temprature: 0.5 } }), (e) => e.status_code === 400 && /temprature/.test(e.message));
  await assert.rejects(ollama.chat({ model: server.model, messages: [{ role: 'user', content: 'x' }],
    options: { num_ctx: 1 << 20 } }), (e) => e.status_code === 400 && /num_ctx/.test(e.message));
  await assert.rejects(ollama.generate({ model: 'no-such-model', prompt: 'x' }),
    (e) => e.status_code === 404);
  await assert.rejects(ollama.chat({ model: server.model,
    messages: [{ role: 'user', content: 'x', images: ['!!not base64!!'] }] }),
    (e) => e.status_code === 400 && /base64/.test(e.message));
  const r = await ollama.chat({ model: server.model, messages: [{ role: 'user', content: 'still fine' }], options });
  assert.equal(r.done, true);
});
