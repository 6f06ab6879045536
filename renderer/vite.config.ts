import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

// REDBEAR_NO_FAKE=1 strips the development fake greeterd from the bundle entirely.
const allowFake = process.env['REDBEAR_NO_FAKE'] !== '1';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  plugins: [
    react(),
    {
      // The React Fast Refresh preamble is an inline script; the strict CSP is for builds only.
      name: 'redbear-dev-csp',
      apply: 'serve',
      transformIndexHtml: (html) => html.replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/s, ''),
    },
  ],
  define: {
    __REDBEAR_ALLOW_FAKE__: JSON.stringify(allowFake),
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'chrome120',
    // Never inline assets as data: URLs (keeps img-src strict and the JS small).
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  server: {
    fs: { allow: ['..'] },
  },
});
