import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The production build goes into the Python package, which serves it (and wheels carry it).
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "../src/assay/ui",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    proxy: { "/api": "http://127.0.0.1:8000" },
  },
});
