// Shared by the chat page tests (chat_page.test.mjs against a fake server in node,
// chat_page_live.test.mjs against a real `hearth serve`): Chromium discovery, media made in
// memory, and the page's own request log.
import fs from 'node:fs';
import zlib from 'node:zlib';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const PAGE_PATH = new URL('../../src/server/chat_page.html', import.meta.url);
// CTest's SKIP_RETURN_CODE for these tests (tests/CMakeLists.txt).
export const SKIP_EXIT_CODE = 77;

// Why the tests cannot run here, or null. Run directly (`node FILE`, as CTest does) a missing
// Chromium exits with SKIP_EXIT_CODE so CTest reports a skip; under `node --test` a child's
// exit code is only ever a failure, so the caller marks its tests skipped instead.
export function skipReason(extra) {
  const why = fs.existsSync(CHROMIUM) ? extra ?? null
                                      : `no Chromium at ${CHROMIUM} (apt-get install chromium)`;
  if (why && !process.env.NODE_TEST_CONTEXT) {
    console.log(`# SKIP ${why}`);
    process.exit(SKIP_EXIT_CODE);
  }
  return why;
}

export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  // The background-networking flags stop Chromium's own calls home, which this machine's closed
  // network refuses; they would be noise, not the page's requests.
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// Records every request the page makes and every uncaught page error.
export function watchPage(page) {
  const seen = { urls: [], errors: [] };
  page.on('request', (r) => seen.urls.push(r.url()));
  page.on('pageerror', (e) => seen.errors.push(String(e)));
  return seen;
}

// URLs that are neither on `origin` nor inline data: the page must make none.
export function foreignRequests(seen, origin) {
  return seen.urls.filter((u) => !u.startsWith(origin + '/') && !u.startsWith('data:'));
}

let crcTable = null;
function crc32(buf) {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// A valid RGB PNG of w x h pixels, a gradient so no two files of different size are alike.
export function makePng(w, h) {
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; ihdr[9] = 2;  // 8-bit RGB; compression, filter and interlace 0
  const raw = Buffer.alloc(h * (1 + 3 * w));
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = y * (1 + 3 * w) + 1 + 3 * x;
      raw[o] = (x * 255) / Math.max(1, w - 1);
      raw[o + 1] = (y * 255) / Math.max(1, h - 1);
      raw[o + 2] = 128;
    }
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

// A 16-bit mono PCM WAV: `seconds` of a 440 Hz tone at `rate` Hz.
export function makeWav(seconds = 0.25, rate = 16000) {
  const n = Math.round(seconds * rate);
  const b = Buffer.alloc(44 + 2 * n);
  b.write('RIFF', 0); b.writeUInt32LE(36 + 2 * n, 4); b.write('WAVE', 8);
  b.write('fmt ', 12); b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22);
  b.writeUInt32LE(rate, 24); b.writeUInt32LE(2 * rate, 28); b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34); b.write('data', 36); b.writeUInt32LE(2 * n, 40);
  for (let i = 0; i < n; i++) {
    b.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)), 44 + 2 * i);
  }
  return b;
}

// Waits until the element matching `selector` has text containing `text`.
export function waitText(page, selector, text, timeout = 10000) {
  return page.waitForFunction(([sel, t]) => {
    const e = document.querySelector(sel);
    return e && e.textContent.includes(t);
  }, [selector, text], { timeout });
}

// The user turn's content parts of a chat-completions body (the last user message).
export function lastUserParts(body) {
  const users = body.messages.filter((m) => m.role === 'user');
  const c = users[users.length - 1].content;
  return typeof c === 'string' ? [{ type: 'text', text: c }] : c;
}
