import type { BrowserContext } from 'playwright-core';
import { expect } from 'vitest';

/** A kernel's first start in a sandbox on a loaded machine takes a while: wait generously. */
const KERNEL = { timeout: 120_000, interval: 500 };

/**
 * Runs `code` as a researcher does: in a new notebook of the running instance `instanceId`, opened
 * in Jupyter's classic notebook page through Lantern's proxy, the code put into the first cell
 * and run with Shift+Enter. Resolves with what the cell printed (its output area's text).
 */
export async function runInNotebook(
  person: BrowserContext,
  baseUrl: string,
  instanceId: string,
  code: string,
): Promise<string> {
  const base = `${baseUrl}/instances/${instanceId}/`;
  const page = await person.newPage();
  try {
    // The notebook list's own way to make a notebook (its "New" menu calls the same API), from
    // the page so that the browser sends the origin Lantern's proxy checks.
    await page.goto(`${base}tree`);
    const created = await page.evaluate(async (api: string) => {
      const res = await fetch(`${api}api/contents`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'notebook' }),
      });
      return { status: res.status, body: (await res.json()) as { path?: string } };
    }, base);
    expect(created.status).toBe(201);
    await page.goto(`${base}notebooks/${encodeURIComponent(created.body.path ?? '')}`);
    // The kernel is up once the toolbar's indicator says it is idle.
    await expect
      .poll(() => page.locator('#kernel_indicator_icon.kernel_idle_icon').count(), KERNEL)
      .toBe(1);
    await page.locator('.cell .CodeMirror').first().click();
    // Inserted as pasted text: typed keys would have the editor close brackets and indent lines.
    await page.keyboard.insertText(code);
    await page.keyboard.press('Shift+Enter');
    const output = page.locator('.cell').first().locator('.output_area');
    await expect.poll(() => output.count(), KERNEL).toBeGreaterThan(0);
    // Done when the kernel is idle again and the prompt has its execution count.
    await expect
      .poll(() => page.locator('.cell').first().locator('.input_prompt').textContent(), KERNEL)
      .toMatch(/\[\d+\]/u);
    return (await output.allTextContents()).join('');
  } finally {
    await page.close();
  }
}
