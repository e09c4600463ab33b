import zlib from 'node:zlib'
import { svelte } from '@sveltejs/vite-plugin-svelte'
import { defineConfig } from 'vite'
import { compression, defineAlgorithm } from 'vite-plugin-compression2'

const relay = process.env.RELAY_URL ?? 'http://127.0.0.1:8080'
/** Files smaller than this are sent as they are: a compressed copy would save less than a packet. */
const COMPRESS_THRESHOLD_BYTES = 1024

export default defineConfig({
  plugins: [
    svelte(),
    // A .br and a .gz beside every text file of dist/ (public/ included), made once at build time, so the
    // relay (src/relay/static-files.ts) sends them without compressing per request. The plugin works with
    // Vite 8's rolldown build; a copy that is not smaller than its file is not written (skipIfLargerOrEqual).
    compression({
      include: /\.(html|css|js|mjs|json|svg|wasm|txt|xml|webmanifest)$/,
      threshold: COMPRESS_THRESHOLD_BYTES,
      algorithms: [
        defineAlgorithm('brotliCompress', { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY } }),
        defineAlgorithm('gzip', { level: zlib.constants.Z_BEST_COMPRESSION }),
      ],
    }),
  ],
  root: '.',
  // Relative asset URLs: dist/ works from any static file server and any sub-path (tabs mode needs no relay).
  base: './',
  build: { outDir: 'dist', target: 'es2022' },
  // `npm run dev`: Vite serves the page with hot reload and forwards the relay's paths.
  server: {
    proxy: {
      '/socket.io': { target: relay, ws: true },
      '/ws': { target: relay, ws: true },
      '/peerjs': { target: relay, ws: true },
      '/healthz': relay,
      '/readyz': relay,
      '/ice-servers': relay,
    },
  },
})
