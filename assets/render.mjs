#!/usr/bin/env node
// Renders the SVG artwork in assets/ to the PNGs installed under
// /usr/share/redbear/greeter/. Uses the system Chromium through playwright-core
// (never `npx playwright install`).
//   node assets/render.mjs
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const jobs = [
  { svg: 'icon.svg', png: 'icon.png', width: 256, height: 256, transparent: true },
  { svg: 'background.svg', png: 'background.png', width: 1920, height: 1080, transparent: false },
];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
});
try {
  for (const job of jobs) {
    const svg = await readFile(join(here, job.svg), 'utf8');
    const page = await browser.newPage({ viewport: { width: job.width, height: job.height }, deviceScaleFactor: 1 });
    const dataUrl = `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
    await page.setContent(
      `<!doctype html><html><head><style>html,body{margin:0;background:transparent}` +
        `img{display:block;width:${job.width}px;height:${job.height}px}</style></head>` +
        `<body><img src="${dataUrl}" alt=""></body></html>`,
    );
    await page.waitForFunction(() => document.images[0]?.complete === true);
    await page.screenshot({ path: join(here, job.png), omitBackground: job.transparent, type: 'png' });
    await page.close();
    console.log(`rendered ${job.png} (${job.width}x${job.height})`);
  }
} finally {
  await browser.close();
}
