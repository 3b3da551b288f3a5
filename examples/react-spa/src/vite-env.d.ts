/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** The API's address, fixed at build time; http://localhost:8080 when unset. */
  readonly VITE_API_URL?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}
