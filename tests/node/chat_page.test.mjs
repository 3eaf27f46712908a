// The chat page (src/server/chat_page.html) in headless Chromium against a fake
// OpenAI-compatible server written here: the server serves the page from disk at `/`, answers
// /v1/models and /v1/chat/completions (SSE) and records every request it gets, so the tests see
// both what the page shows and what it sent. What the fake streams is picked by a word in the
// last user message ([step], [slow], [nousage], [fail], [midfail]).
//
//   node chat_page.test.mjs         (what CTest runs; exits 77, a skip, without Chromium)
//   node --test chat_page.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import {
  PAGE_PATH, skipReason, launchChromium, watchPage, foreignRequests, makePng, makeWav, waitText,
  lastUserParts,
} from './chat_page_util.mjs';

const skip = skipReason();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function startFakeServer() {
  const fake = { requests: [], chatBodies: [], aborted: 0, permits: 0, waiter: null };
  // [step] streams wait for release() between chunks, so a test can look at every stage.
  fake.release = () => {
    if (fake.waiter) { const w = fake.waiter; fake.waiter = null; w(); } else fake.permits++;
  };
  const gate = () => {
    if (fake.permits > 0) { fake.permits--; return Promise.resolve(); }
    return new Promise((r) => { fake.waiter = r; });
  };
  const json = (res, status, obj) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(obj));
  };
  const base = { id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1,
                 model: 'fake-model' };
  const chunk = (delta, finish = null) =>
    ({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] });

  fake.server = http.createServer(async (req, res) => {
    fake.requests.push({ method: req.method, url: req.url, headers: req.headers });
    if (req.method === 'GET' && req.url === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(fs.readFileSync(PAGE_PATH));
      return;
    }
    if (req.method === 'GET' && req.url === '/v1/models') {
      json(res, 200, { object: 'list', data: [
        { id: 'fake-model', object: 'model', created: 1, owned_by: 'hearth' },
        { id: 'other-model', object: 'model', created: 1, owned_by: 'hearth' }] });
      return;
    }
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      json(res, 404, { error: { message: `no route ${req.method} ${req.url}`,
                                type: 'invalid_request_error' } });
      return;
    }
    let raw = '';
    for await (const part of req) raw += part;
    const body = JSON.parse(raw);
    fake.chatBodies.push({ body, headers: req.headers });
    const text = lastUserParts(body).filter((p) => p.type === 'text').map((p) => p.text).join(' ');
    if (text.includes('[fail]')) {
      json(res, 400, { error: { message: "unsupported parameter 'frobnicate'",
                                type: 'invalid_request_error', param: 'frobnicate', code: null } });
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    let closed = false;
    res.on('close', () => { if (!res.writableFinished) { closed = true; fake.aborted++; } });
    const send = (obj) => res.write(`data: ${JSON.stringify(obj)}\n\n`);
    send(chunk({ role: 'assistant', content: '' }));
    if (text.includes('[slow]')) {
      // Ticks until the client goes away (bounded: ends by itself after 10 s).
      for (let i = 0; i < 200 && !closed; i++) {
        send(chunk({ content: 'tick ' }));
        await sleep(50);
      }
      res.end();
      return;
    }
    if (text.includes('[midfail]')) {
      send(chunk({ content: 'partial ' }));
      send({ error: { message: 'the engine failed mid-stream', type: 'server_error' } });
      res.end();
      return;
    }
    const step = text.includes('[step]');
    // HTML in the answer: the page must show it as text.
    const pieces = ['Hel', 'lo, ', '<b>world</b>'];
    for (const [i, p] of pieces.entries()) {
      if (i > 0) await (step ? gate() : sleep(60));
      if (closed) return;
      send(chunk({ content: p }));
    }
    // A keep-alive comment and CRLF line ends: the parser must take both.
    res.write(': keep-alive\r\n\r\n');
    send(chunk({}, 'stop'));
    if (!text.includes('[nousage]')) {
      send({ ...base, choices: [],
             usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
             x_timings: { prompt_tokens: 11, completion_tokens: 7, decode_ms: 500 } });
    }
    res.end('data: [DONE]\n\n');
  });
  return new Promise((resolve) => fake.server.listen(0, '127.0.0.1', () => {
    fake.origin = `http://127.0.0.1:${fake.server.address().port}`;
    resolve(fake);
  }));
}

describe('chat page against a fake OpenAI server', { skip: skip ?? false }, () => {
  let fake, browser;
  before(async () => {
    fake = await startFakeServer();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    fake?.server.close();
  });

  // A fresh context (empty localStorage) on the page, with its requests watched.
  async function open(viewport) {
    const context = await browser.newContext(viewport ? { viewport } : {});
    const page = await context.newPage();
    const seen = watchPage(page);
    await page.goto(fake.origin + '/');
    await page.waitForFunction(() => document.querySelectorAll('#model option').length === 2);
    return { context, page, seen };
  }
  async function close({ context, seen }) {
    await context.close();
    assert.deepEqual(foreignRequests(seen, fake.origin), [], 'requests to another origin');
    assert.deepEqual(seen.errors, [], 'uncaught errors in the page');
  }
  const stats = (page) => page.textContent('#stats');
  const lastReply = '#log .msg.assistant:last-child';

  it('streams an answer chunk by chunk, as text, with usage-based stats', async () => {
    const t = await open();
    const { page } = t;
    assert.equal(await page.title(), 'hearth chat');
    assert.equal(await page.getAttribute('#log', 'aria-live'), 'polite');
    await page.fill('#input', 'hello [step]');
    await page.click('#send');

    await waitText(page, lastReply, 'Hel');
    assert.equal(await page.textContent(lastReply), 'Hel');
    assert.ok(await page.isDisabled('#send'), 'Send is disabled while streaming');
    assert.ok(await page.isEnabled('#stop'), 'Stop is enabled while streaming');
    assert.match(await stats(page), /first token \d+\.\d\d s/);
    fake.release();
    await waitText(page, lastReply, 'Hello, ');
    assert.equal(await page.textContent(lastReply), 'Hello, ');
    fake.release();
    await waitText(page, '#stats', 'finished');

    assert.equal(await page.textContent(lastReply), 'Hello, <b>world</b>');
    assert.equal(await page.locator(`${lastReply} b`).count(), 0, 'model output became HTML');
    // usage.completion_tokens (7, not the 3 chunks) over x_timings.decode_ms (0.5 s).
    assert.match(await stats(page), /7 tokens · 14\.0 tok\/s · finished: stop/);
    assert.ok(await page.isEnabled('#send'));
    assert.ok(await page.isDisabled('#stop'));
    assert.equal(await page.inputValue('#input'), '');

    const { body } = fake.chatBodies.at(-1);
    assert.equal(body.model, 'fake-model');
    assert.equal(body.stream, true);
    assert.deepEqual(body.stream_options, { include_usage: true });
    assert.equal(body.temperature, 0.7);
    assert.equal(body.max_tokens, 512);
    assert.deepEqual(body.messages, [{ role: 'user', content: 'hello [step]' }]);

    // Second turn: the history goes back with the system prompt and the edited settings, and
    // without usage in the stream the page counts chunks and times them itself.
    await page.click('summary');
    await page.fill('#system', 'Be brief.');
    await page.fill('#temperature', '0.2');
    await page.fill('#max-tokens', '64');
    await page.selectOption('#model', 'other-model');
    await page.fill('#input', 'again [nousage]');
    await page.press('#input', 'Enter');
    await waitText(page, '#stats', 'finished');
    assert.match(await stats(page),
                 /^first token \d+\.\d\d s · 3 tokens · \d+\.\d tok\/s · finished: stop$/);
    const second = fake.chatBodies.at(-1).body;
    assert.equal(second.model, 'other-model');
    assert.equal(second.temperature, 0.2);
    assert.equal(second.max_tokens, 64);
    assert.deepEqual(second.messages, [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'hello [step]' },
      { role: 'assistant', content: 'Hello, <b>world</b>' },
      { role: 'user', content: 'again [nousage]' }]);
    assert.equal(await page.locator('#log .msg.user').count(), 2);
    assert.equal(await page.locator('#log .msg.assistant').count(), 2);
    await close(t);
  });

  it('sends an attached image and audio file as image_url and input_audio parts', async () => {
    const t = await open();
    const { page } = t;
    const png = makePng(4, 3);
    const wav = makeWav();
    await page.setInputFiles('#attach', [
      { name: 'dots.png', mimeType: 'image/png', buffer: png },
      { name: 'tone.wav', mimeType: 'audio/wav', buffer: wav }]);
    // Thumbnails before sending: the image decodes, the audio has a player.
    await page.waitForFunction(() => {
      const img = document.querySelector('#pending img');
      return img && img.complete && img.naturalWidth === 4;
    });
    assert.equal(await page.locator('#pending audio').count(), 1);
    await page.fill('#input', 'what is this?');
    await page.click('#send');
    await waitText(page, '#stats', 'finished');

    assert.equal(await page.locator('#pending > *').count(), 0, 'attachments kept after sending');
    assert.equal(await page.locator('#log .msg.user img').count(), 1);
    assert.equal(await page.locator('#log .msg.user audio').count(), 1);
    const parts = lastUserParts(fake.chatBodies.at(-1).body);
    assert.deepEqual(parts.map((p) => p.type), ['text', 'image_url', 'input_audio']);
    assert.equal(parts[0].text, 'what is this?');
    const url = parts[1].image_url.url;
    assert.ok(url.startsWith('data:image/png;base64,'), url.slice(0, 40));
    assert.deepEqual(Buffer.from(url.slice(url.indexOf(',') + 1), 'base64'), png);
    assert.equal(parts[2].input_audio.format, 'wav');
    assert.deepEqual(Buffer.from(parts[2].input_audio.data, 'base64'), wav);

    // Removing an attachment before sending leaves it out; a file that is neither is refused.
    await page.setInputFiles('#attach', [
      { name: 'a.png', mimeType: 'image/png', buffer: makePng(2, 2) },
      { name: 'b.png', mimeType: 'image/png', buffer: makePng(3, 3) },
      { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hi') }]);
    await waitText(page, '#error', 'notes.txt: not an image or audio file');
    await page.click('button[aria-label="Remove a.png"]');
    await page.click('#send');
    await waitText(page, '#stats', 'finished');
    const only = lastUserParts(fake.chatBodies.at(-1).body);
    assert.deepEqual(only.map((p) => p.type), ['image_url']);
    assert.deepEqual(Buffer.from(only[0].image_url.url.split(',')[1], 'base64'), makePng(3, 3));
    await close(t);
  });

  it('shows HTTP and mid-stream errors from the server', async () => {
    const t = await open();
    const { page } = t;
    await page.fill('#input', 'break it [fail]');
    await page.click('#send');
    await waitText(page, '#error', 'HTTP 400');
    assert.match(await page.textContent('#error'),
                 /^HTTP 400 Bad Request: unsupported parameter 'frobnicate'$/);
    assert.equal(await page.getAttribute('#error', 'role'), 'alert');
    // The failed turn is handed back for editing and is not part of the history.
    assert.equal(await page.inputValue('#input'), 'break it [fail]');
    assert.equal(await page.locator('#log .msg.user.failed').count(), 1);
    assert.equal(await page.locator('#log .msg.assistant').count(), 0);
    assert.ok(await page.isEnabled('#send'));

    await page.fill('#input', 'go [midfail]');
    await page.click('#send');
    await waitText(page, '#error', 'stream error');
    assert.equal(await page.textContent('#error'), 'stream error: the engine failed mid-stream');
    assert.equal(await page.textContent(lastReply), 'partial (incomplete)');
    assert.match(await stats(page), /failed$/);
    assert.deepEqual(fake.chatBodies.at(-1).body.messages,
                     [{ role: 'user', content: 'go [midfail]' }]);
    await close(t);
  });

  it('Stop aborts the request and keeps what arrived', async () => {
    const t = await open();
    const { page } = t;
    const abortedBefore = fake.aborted;
    await page.fill('#input', 'count [slow]');
    await page.click('#send');
    await waitText(page, lastReply, 'tick tick');
    await page.click('#stop');
    await waitText(page, '#stats', 'stopped');
    // The server sees the connection closed before its stream ended.
    for (let i = 0; i < 100 && fake.aborted === abortedBefore; i++) await sleep(20);
    assert.equal(fake.aborted, abortedBefore + 1, 'the server did not see the request aborted');
    const shown = await page.textContent(lastReply);
    assert.match(shown, /^(tick )+\(stopped\)$/);
    assert.equal(await page.textContent('#error'), '');
    assert.ok(await page.isEnabled('#send'));
    assert.ok(await page.isDisabled('#stop'));
    // No more text arrives after Stop.
    await sleep(200);
    assert.equal(await page.textContent(lastReply), shown);
    await close(t);
  });

  it('sends the API key as a bearer token and keeps it across reloads', async () => {
    const t = await open();
    const { page } = t;
    const noAuth = fake.requests.filter((r) => r.url === '/v1/models').at(-1);
    assert.equal(noAuth.headers.authorization, undefined);
    await page.click('summary');
    await page.fill('#api-key', 'sk-local-test');
    await page.dispatchEvent('#api-key', 'change');
    await page.waitForFunction(() => localStorage.getItem('hearth.apiKey') === 'sk-local-test');
    await page.reload();
    await page.waitForFunction(() => document.querySelectorAll('#model option').length === 2);
    assert.equal(await page.inputValue('#api-key'), 'sk-local-test');
    assert.equal(fake.requests.filter((r) => r.url === '/v1/models').at(-1).headers.authorization,
                 'Bearer sk-local-test');
    await page.fill('#input', 'hi');
    await page.click('#send');
    await waitText(page, '#stats', 'finished');
    assert.equal(fake.chatBodies.at(-1).headers.authorization, 'Bearer sk-local-test');
    await close(t);
  });

  it('fits a narrow screen without sideways scrolling', async () => {
    const t = await open({ width: 340, height: 640 });
    const { page } = t;
    await page.fill('#input', 'a long line ' + 'x'.repeat(300));
    await page.click('#send');
    await waitText(page, '#stats', 'finished');
    const [scrollW, clientW] = await page.evaluate(
      () => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
    assert.ok(scrollW <= clientW, `page is ${scrollW}px wide in a ${clientW}px viewport`);
    const sendBox = await page.locator('#send').boundingBox();
    assert.ok(sendBox.x + sendBox.width <= 340, 'Send button is off screen');
    await close(t);
  });
});
