/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';

// `npm run dev` serves the app with hot reload and sends /api to a root on localhost:10000
// (or OAKESTRA_API).
export default defineConfig({
  plugins: [preact()],
  build: { target: 'es2022', sourcemap: false, reportCompressedSize: true },
  server: {
    proxy: { '/api': { target: process.env.OAKESTRA_API ?? 'http://127.0.0.1:10000' } },
  },
  test: {
    environment: 'happy-dom',
    include: ['test/**/*.test.{ts,tsx}'],
  },
});
