import { after, before } from 'node:test';
import { Browser } from '../../tools/chromium.js';

export { Browser, type Page } from '../../tools/chromium.js';

/**
 * One browser for a test file: launched before its tests (unless `skip` says why not), closed
 * after them, then `cleanUp` runs. Call the returned function inside a test.
 */
export function testBrowser(skip: string | undefined, cleanUp: () => void): () => Browser {
  let browser: Browser | undefined;
  before(async () => {
    if (!skip) browser = await Browser.launch();
  });
  after(async () => {
    await browser?.close();
    cleanUp();
  });
  return () => {
    if (!browser) throw new Error('no browser: the test should have been skipped');
    return browser;
  };
}
