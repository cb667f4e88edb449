// Builds the dashboard into static files for `gpufleetd --web-dir`: index.html plus hashed files
// under assets/. Nothing inline (the controller serves a strict Content-Security-Policy), no
// source maps, no module-preload polyfill. `npm run dev` proxies /api to a running controller:
// GPUFLEET_SERVER=http://127.0.0.1:PORT npm run dev
import { defineConfig } from 'vite';

const server = process.env.GPUFLEET_SERVER ?? 'http://127.0.0.1:8470';

export default defineConfig({
  base: '/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: false,
    cssCodeSplit: false,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
  },
  server: {
    proxy: { '/api': { target: server, changeOrigin: true } },
  },
});
