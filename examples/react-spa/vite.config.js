import { defineConfig } from "vite";

// No React plugin needed: Vite's esbuild step compiles .tsx with the
// automatic runtime. (The trade-off is no Fast Refresh in `npm run dev`;
// edits reload the page instead.)
//
// The host is `localhost`, not 127.0.0.1, on purpose: the API runs on
// http://localhost:8080, and `localhost:5173` and `localhost:8080` are the
// same *site*, so the API's SameSite=Lax session cookie is sent by fetch().
export default defineConfig({
  esbuild: { jsx: "automatic" },
  server: { host: "localhost", port: 5173, strictPort: true },
  preview: { host: "localhost", port: 5173, strictPort: true },
});
