import { readFile } from 'node:fs/promises';
import openapiTS, { astToString } from 'openapi-typescript';
import { describe, expect, it } from 'vitest';

describe('the SDK', () => {
  it('has types generated from its copy of the OpenAPI document (run `npm run generate:sdk` if not)', async () => {
    const document = new URL('../openapi.json', import.meta.url);
    const committed = await readFile(new URL('./generated/schema.ts', import.meta.url), 'utf8');
    const generated = astToString(await openapiTS(document));
    expect(committed.endsWith(generated)).toBe(true);
  });
});
