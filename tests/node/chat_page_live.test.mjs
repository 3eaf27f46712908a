// The chat page in headless Chromium against a real `hearth serve` on a random-weight test model
// (made with `hearth make-test-model`): the page hearth serves at `/` loads, lists the model,
// streams an answer to the end with its stats, and sends attachments. The model's text is
// gibberish, so this checks structure, not words. Needs HEARTH_BIN (CTest sets it to the built
// hearth); without it, or without Chromium, it is skipped (exit 77 when run directly).
//
//   HEARTH_BIN=build/tools/hearth node chat_page_live.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  PAGE_PATH, skipReason, launchChromium, watchPage, foreignRequests, makePng, makeWav, waitText,
  lastUserParts,
} from './chat_page_util.mjs';

const HEARTH_BIN = process.env.HEARTH_BIN;
const skip = skipReason(HEARTH_BIN ? null : 'HEARTH_BIN is not set');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Starts `hearth serve` on port 0 and resolves with its origin once it has printed
// "listening on http://HOST:PORT" and /health no longer answers 503 (the model is loaded).
async function startHearth(model) {
  const proc = spawn(HEARTH_BIN, ['serve', '-m', model, '--port', '0'],
                     { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const origin = await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no "listening on" in 60 s; stderr:\n${stderr}`)), 60000);
    proc.stderr.on('data', (d) => {
      stderr = (stderr + d).slice(-8000);
      const m = stderr.match(/listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1].replace(/\/$/, '').replace('0.0.0.0', '127.0.0.1'));
      }
    });
    proc.on('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`hearth serve exited (${code ?? sig}) before listening; stderr:\n` +
                       stderr));
    });
  });
  for (let i = 0; i < 600; i++) {
    const res = await fetch(origin + '/health').catch(() => null);
    if (res && res.status !== 503) break;
    await sleep(100);
  }
  return { proc, origin, stderr: () => stderr };
}

async function stopHearth(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 10000);
  await exited;
  clearTimeout(timer);
}

describe('chat page against hearth serve', { skip: skip ?? false }, () => {
  let dir, hearth, browser, context, page, seen;
  const chatPosts = [];
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-chat-page-'));
    const model = path.join(dir, 'g4-test.gguf');
    execFileSync(HEARTH_BIN,
                 ['make-test-model', '--variant', 'g4-12b', '--type', 'q8_0', '-o', model],
                 { stdio: 'inherit' });
    hearth = await startHearth(model);
    browser = await launchChromium();
    context = await browser.newContext();
    page = await context.newPage();
    seen = watchPage(page);
    page.on('response', async (r) => {
      if (!r.url().endsWith('/v1/chat/completions')) return;
      chatPosts.push({ status: r.status(), type: r.headers()['content-type'] || '',
                       body: JSON.parse(r.request().postData()) });
    });
  });
  after(async () => {
    await browser?.close();
    if (hearth) await stopHearth(hearth.proc);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  // Sends the composer's contents and waits for the turn to end; returns the stats line.
  async function sendAndWait() {
    const before = chatPosts.length;
    await page.click('#send');
    await page.waitForFunction(() => /finished|failed|stopped/.test(
      document.getElementById('stats').textContent), null, { timeout: 120000 });
    for (let i = 0; i < 50 && chatPosts.length === before; i++) await sleep(20);
    assert.equal(chatPosts.length, before + 1, 'the page did not POST /v1/chat/completions');
    return page.textContent('#stats');
  }

  it('serves the page and streams an answer with its stats', async () => {
    await page.goto(hearth.origin + '/');
    assert.equal(await page.title(), 'hearth chat');
    assert.equal(await page.content().then((h) => h.includes('id="composer"')), true);
    const served = await (await fetch(hearth.origin + '/')).text();
    assert.equal(served, fs.readFileSync(PAGE_PATH, 'utf8'), 'hearth serves a different page');
    await page.waitForFunction(() => document.querySelectorAll('#model option').length > 0);
    assert.equal(await page.textContent('#error'), '');

    await page.click('summary');
    await page.fill('#temperature', '0');
    await page.fill('#max-tokens', '8');
    await page.fill('#input', 'Hello there');
    const stats = await sendAndWait();
    assert.equal(await page.textContent('#error'), '', `hearth said: ${hearth.stderr()}`);
    const post = chatPosts.at(-1);
    assert.equal(post.status, 200);
    assert.match(post.type, /^text\/event-stream/);
    assert.equal(post.body.max_tokens, 8);
    const shape = /^first token \d+\.\d\d s · \d+ tokens · \d+\.\d tok\/s · finished: (stop|length)$/;
    assert.match(stats, shape);
    const tokens = Number(stats.match(/(\d+) tokens/)[1]);
    assert.ok(tokens >= 1 && tokens <= 8, `${tokens} tokens with max_tokens 8`);
    assert.equal(await page.locator('#log .msg.assistant').count(), 1);
  });

  // The test model has no vision or audio projector, so hearth may refuse the part with a 4xx:
  // either way the page sent it in OpenAI's shape and shows the outcome, never hangs.
  for (const [kind, file, partType] of [
    ['image', { name: 'dots.png', mimeType: 'image/png', buffer: makePng(8, 8) }, 'image_url'],
    ['audio', { name: 'tone.wav', mimeType: 'audio/wav', buffer: makeWav() }, 'input_audio']]) {
    it(`sends an attached ${kind} and shows the answer or hearth's error`, async () => {
      await page.setInputFiles('#attach', [file]);
      await page.waitForFunction(() => document.querySelectorAll('#pending .thumb').length === 1);
      await page.fill('#input', `What is in this ${kind}?`);
      const stats = await sendAndWait();
      const post = chatPosts.at(-1);
      const parts = lastUserParts(post.body);
      assert.deepEqual(parts.map((p) => p.type), ['text', partType]);
      const data = partType === 'image_url' ? parts[1].image_url.url.split(',')[1]
                                            : parts[1].input_audio.data;
      assert.deepEqual(Buffer.from(data, 'base64'), file.buffer);
      if (post.status === 200) {
        assert.match(stats, /finished: (stop|length)$/);
        assert.equal(await page.textContent('#error'), '');
      } else {
        assert.ok(post.status >= 400 && post.status < 500, `status ${post.status}`);
        assert.match(await page.textContent('#error'), new RegExp(`^HTTP ${post.status}\\b.*: .+`));
        assert.match(stats, /failed$/);
        // The refused turn is handed back for editing: take the attachment out for the next test.
        assert.equal(await page.inputValue('#input'), `What is in this ${kind}?`);
        await page.click(`button[aria-label="Remove ${file.name}"]`);
      }
      assert.equal(await page.locator('#pending .thumb').count(), 0);
    });
  }

  it('made no request to another origin and raised no page error', () => {
    assert.deepEqual(foreignRequests(seen, hearth.origin), []);
    assert.deepEqual(seen.errors, []);
  });
});
