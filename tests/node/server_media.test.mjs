// Images and audio through the official, unmodified clients against a real `hearth serve` on the
// golden 12B-unified test model and its projector (gemma4uv + gemma4ua): OpenAI image_url and
// input_audio parts (alone, together, streamed), Ollama `images`, and the errors the SDK raises
// for media the server refuses.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { Ollama } from 'ollama';
import fs from 'node:fs';
import path from 'node:path';
import { startServer } from './server_harness.mjs';

const golden = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../data/golden');
const png = fs.readFileSync(path.join(golden, 'image-300x200.png')).toString('base64');
const wav = fs.readFileSync(path.join(golden, 'tone-440hz-1s.wav')).toString('base64');

let server;
let client;
let ollama;

before(async () => {
  server = await startServer(['--mmproj', path.join(golden, 'mmproj-g4-u12b-tiny-f16.gguf'),
                              '-c', '512'],
                             path.join(golden, 'g4-u12b-tiny-q8_0.gguf'));
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  ollama = new Ollama({ host: server.url });
});

after(async () => {
  const { code, signal } = await server.stop();
  assert.equal(signal, null, `server died by ${signal}`);
  assert.equal(code, 0, server.log());
});

const imagePart = { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } };
const audioPart = { type: 'input_audio', input_audio: { data: wav, format: 'wav' } };
const ask = (parts, extra = {}) => ({
  model: server.model,
  messages: [{ role: 'user', content: [...parts, { type: 'text', text: 'What is this?' }] }],
  temperature: 0,
  max_tokens: 4,
  ...extra,
});

test('image and audio parts become the projector\'s rows in the prompt', async () => {
  const text = await client.chat.completions.create(ask([]));
  const image = await client.chat.completions.create(ask([imagePart]));
  const audio = await client.chat.completions.create(ask([audioPart]));
  const both = await client.chat.completions.create(ask([imagePart, audioPart]));
  // 300x200 -> 384x288 -> 8x6 = 48 image rows; 1 s of audio -> 25 rows; each with its two markers.
  assert.equal(image.usage.prompt_tokens - text.usage.prompt_tokens, 48 + 2);
  assert.equal(audio.usage.prompt_tokens - text.usage.prompt_tokens, 25 + 2);
  assert.equal(both.usage.prompt_tokens - text.usage.prompt_tokens, 48 + 2 + 25 + 2);
  for (const r of [image, audio, both]) assert.equal(typeof r.choices[0].message.content, 'string');
  // The media change what the model says next.
  assert.notDeepEqual(image.choices[0].message.content, text.choices[0].message.content);
});

test('a streamed answer about an image equals the non-streamed one', async () => {
  const plain = await client.chat.completions.create(ask([imagePart], { max_tokens: 6 }));
  const stream = await client.chat.completions.create(
    ask([imagePart], { max_tokens: 6, stream: true, stream_options: { include_usage: true } }));
  let text = '';
  let usage = null;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? '';
    if (chunk.usage) usage = chunk.usage;
  }
  assert.equal(text, plain.choices[0].message.content);
  assert.equal(usage.prompt_tokens, plain.usage.prompt_tokens);
});

test('Ollama images reach the model too', async () => {
  const r = await ollama.chat({
    model: server.model, stream: false,
    messages: [{ role: 'user', content: 'What is this?', images: [png] }],
    options: { temperature: 0, num_predict: 4 },
  });
  const t = await ollama.chat({
    model: server.model, stream: false,
    messages: [{ role: 'user', content: 'What is this?' }],
    options: { temperature: 0, num_predict: 4 },
  });
  assert.equal(r.prompt_eval_count - t.prompt_eval_count, 48 + 2);
  const g = await ollama.generate({ model: server.model, prompt: 'What is this?', images: [png],
                                    stream: false, options: { temperature: 0, num_predict: 2 } });
  assert.ok(g.done);
});

test('media the server refuses are the SDK\'s BadRequestError naming the part', async () => {
  const cases = [
    { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } },
    { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA' } },
    { type: 'input_audio', input_audio: { data: png, format: 'wav' } },  // a PNG is not audio
  ];
  for (const part of cases) {
    await assert.rejects(client.chat.completions.create(ask([part])), (e) => {
      assert.ok(e instanceof OpenAI.BadRequestError, String(e));
      assert.equal(e.status, 400);
      assert.match(e.param ?? '', /^messages\[0\]\.content\[0\]/);
      return true;
    });
  }
  // The server is unharmed.
  const r = await client.chat.completions.create(ask([imagePart]));
  assert.ok(r.choices[0].message.content !== undefined);
});
