import { svelte } from '@sveltejs/vite-plugin-svelte'
import { defineConfig } from 'vite'

const relay = process.env.RELAY_URL ?? 'http://127.0.0.1:8080'

export default defineConfig({
  plugins: [svelte()],
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
