/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** The API's address, fixed at build time; http://localhost:8080 when unset. */
  readonly VITE_API_URL?: string;
  /** The publication's name; "The Tollgate Review" when unset. */
  readonly VITE_PUBLICATION_NAME?: string;
  /** The server's FREE_READS, for the offer shown before sign-in; 5 when unset. */
  readonly VITE_FREE_READS?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}
