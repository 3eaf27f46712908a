// The shipped demo model through a real `hearth serve` and the official, unmodified openai client:
// every held-out question of the test set (tests/demo/testset.py writes it; its folder comes in
// HEARTH_DEMO_TEST_SET) — pictures as image_url data URIs, spoken clips as
// input_audio, both in one request, plain text), greedy. Each kind of question must reach its
// accuracy threshold and the server's answers must equal PyTorch's on at least 99% of them
// (tests/demo/accuracy.py does the same through `hearth run`).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import fs from 'node:fs';
import path from 'node:path';
import { startServer } from './server_harness.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const data = process.env.HEARTH_DEMO_TEST_SET ?? path.join(root, 'build/demo-data/test');
const readJsonl = (f) => fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const items = readJsonl(path.join(data, 'test.jsonl'));
// The same per-task thresholds as tests/demo/accuracy.py (a little below PyTorch's scores).
const THRESHOLDS = JSON.parse(fs.readFileSync(path.join(root, 'tests/data/demo/thresholds.json'), 'utf8'));
const torchAnswer = new Map(readJsonl(path.join(root, 'tests/data/demo/pytorch_answers.jsonl')).map((a) => [a.id, a.answer]));

let server;
let client;

before(async () => {
  server = await startServer(['--mmproj', path.join(root, 'models/mmproj-hearth-demo.gguf'),
                              '--parallel', '4', '-c', '1024'],
                             path.join(root, 'models/hearth-demo.gguf'));
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});

after(async () => {
  const { code, signal } = await server.stop();
  assert.equal(signal, null, `server died by ${signal}`);
  assert.equal(code, 0, server.log());
});

function parts(item) {
  const out = [];
  if (item.image) {
    const png = fs.readFileSync(path.join(data, item.image)).toString('base64');
    out.push({ type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } });
  }
  if (item.audio) {
    const clip = fs.readFileSync(path.join(data, item.audio)).toString('base64');
    out.push({ type: 'input_audio', input_audio: { data: clip, format: path.extname(item.audio).slice(1) } });
  }
  return out;
}

async function ask(item) {
  const r = await client.chat.completions.create({
    model: server.model,
    messages: [{ role: 'user', content: [...parts(item), { type: 'text', text: item.question }] }],
    temperature: 0,
    max_tokens: 32,
  });
  assert.equal(r.choices[0].finish_reason, 'stop', `${item.id}: the answer did not end`);
  return r.choices[0].message.content.trim();
}

test('the held-out questions, asked through the openai client, are answered well and as PyTorch answers them', async () => {
  const answers = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      answers[i] = await ask(items[i]);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  const right = {};
  const total = {};
  let agree = 0;
  const differ = [];
  items.forEach((item, i) => {
    const key = `${item.kind}/${item.task}`;
    total[key] = (total[key] ?? 0) + 1;
    right[key] = (right[key] ?? 0) + (answers[i] === item.answer ? 1 : 0);
    if (answers[i] === torchAnswer.get(item.id)) agree++;
    else differ.push(`${item.id}: server ${JSON.stringify(answers[i])}, PyTorch ${JSON.stringify(torchAnswer.get(item.id))}`);
  });
  for (const key of Object.keys(total).sort()) {
    const acc = right[key] / total[key];
    console.log(`${key}: ${right[key]}/${total[key]} = ${acc.toFixed(3)}${key in THRESHOLDS ? ` (threshold ${THRESHOLDS[key]})` : ''}`);
    if (key in THRESHOLDS) assert.ok(acc >= THRESHOLDS[key], `${key} accuracy ${acc} below ${THRESHOLDS[key]}`);
  }
  const share = agree / items.length;
  console.log(`server = PyTorch on ${agree}/${items.length} = ${share.toFixed(4)}`);
  assert.ok(share >= 0.99, `agreement ${share} below 0.99:\n${differ.slice(0, 20).join('\n')}`);
});

test('the shipped examples through the client, each answered right, as PyTorch answers it', async () => {
  const dir = path.join(root, 'tools/demo-model/examples');
  for (const ex of readJsonl(path.join(dir, 'examples.jsonl'))) {
    const media = { ...ex, image: ex.image && path.relative(data, path.join(dir, ex.image)),
                    audio: ex.audio && path.relative(data, path.join(dir, ex.audio)) };
    const got = await ask(media);
    assert.equal(got, torchAnswer.get(ex.id), `${ex.id}: PyTorch's answer`);
    assert.equal(got, ex.answer, `${ex.id}: the right answer`);
  }
});
