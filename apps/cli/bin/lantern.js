#!/usr/bin/env node
// The `lantern` command. The TypeScript sources build into ../dist; this file only loads them, so
// that npm can link the command at install time, before the first build.
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(
    'lantern: the CLI is not built yet; run `npm run build` in the Lantern checkout\n',
  );
  process.exit(2);
}
await import(main.href);
