/**
 * Opens a report file in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core)
 * the way QA does, offline: every request that is not file:// is aborted and recorded.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Launches headless Chromium; throws (never skips) when /usr/bin/chromium is missing. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (.ci/run does)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** What a page did while it loaded: console errors, uncaught errors, network requests attempted. */
export interface OpenedPage {
  page: Page;
  consoleErrors: string[];
  pageErrors: string[];
  /** URLs of every non-file request (all aborted) */
  network: string[];
}

/** Opens `file` (absolute path) via file:// in a new 1300 px wide page and waits for its load event. */
export async function openReport(browser: Browser, file: string): Promise<OpenedPage> {
  const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
  const opened: OpenedPage = { page, consoleErrors: [], pageErrors: [], network: [] };
  page.on('console', (m) => {
    if (m.type() === 'error') opened.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => opened.pageErrors.push(e.message));
  await page.route(
    (url) => url.protocol !== 'file:',
    async (route) => {
      opened.network.push(route.request().url());
      await route.abort();
    },
  );
  await page.goto(`file://${file}`, { waitUntil: 'load' });
  return opened;
}
