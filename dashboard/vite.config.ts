// Vite config: `npm run build` writes dist/, which clanker serves. `npm run dev` proxies /api to
// a running clanker (CLANKER_URL, default http://127.0.0.1:8780) so the SPA hot-reloads.
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

const target = process.env.CLANKER_URL ?? "http://127.0.0.1:8780";

export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false },
  server: { proxy: { "/api": { target, changeOrigin: false } } },
});
