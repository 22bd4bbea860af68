import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// `npm run dev -w @lantern/web` serves the app with hot reload and proxies the API to a server
// started with `npx lantern start` (LANTERN_DEV_API to point elsewhere).
const api = process.env['LANTERN_DEV_API'] ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  resolve: { conditions: ['lantern-source'] },
  server: { proxy: { '/api': { target: api, changeOrigin: false } } },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
  // Workers (the ingest page's hashing) as ES modules, as they are started: `type: 'module'`.
  worker: { format: 'es' },
});
