import { defineConfig } from "vite";

// No React plugin needed: Vite's esbuild step compiles .tsx with the
// automatic runtime. (The trade-off is no Fast Refresh in `npm run dev`;
// edits reload the page instead.)
//
// The host is `localhost`, not 127.0.0.1, on purpose: the API runs on
// http://localhost:8080, and `localhost:5173` and `localhost:8080` are the
// same *site*, so the API's SameSite=Lax session cookie is sent by fetch().
//
// Every screen has its own address (/blog/<slug>, /account, …): `vite` and
// `vite preview` answer any path without a file with index.html (Vite's
// default "spa" app type), so a deep link or a reload opens the app there.
// A production host needs the same fallback.
export default defineConfig({
  esbuild: { jsx: "automatic" },
  // Every browser the app supports preloads modules itself: no polyfill in
  // a reader's first download.
  build: { modulePreload: { polyfill: false } },
  server: { host: "localhost", port: 5173, strictPort: true },
  preview: { host: "localhost", port: 5173, strictPort: true },
});
