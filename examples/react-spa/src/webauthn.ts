// Passkeys in the browser: the server's JSON options in, the JSON
// credential out.
//
// tollgate speaks WebAuthn Level 3's JSON forms: its options are what
// `PublicKeyCredential.parseCreationOptionsFromJSON()` /
// `parseRequestOptionsFromJSON()` take, and it wants back what
// `credential.toJSON()` gives. Browsers that predate those methods (Safari
// before 18.4, Firefox before 119, Chrome before 129) get the same result
// here by converting the base64url fields by hand.

import type {
  AuthenticationCredential,
  PasskeyCreationOptions,
  PasskeyRequestOptions,
  RegistrationCredential,
} from "./api/client";

type CreationJSON = PasskeyCreationOptions["publicKey"];
type RequestJSON = PasskeyRequestOptions["publicKey"];

/** Whether this browser can use passkeys at all. */
export function passkeysSupported(): boolean {
  return typeof window.PublicKeyCredential === "function" && !!navigator.credentials;
}

/** base64url (no padding) → bytes. */
export function fromBase64Url(text: string): ArrayBuffer {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(text.length / 4) * 4, "=");
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

/** bytes → base64url (no padding), as WebAuthn's JSON forms carry them. */
export function toBase64Url(bytes: ArrayBuffer | ArrayBufferView): string {
  const view = bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let binary = "";
  for (const b of view) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

// The static parse methods and toJSON() are Level 3; feature-test them
// rather than the browser's name.
const PKC = () =>
  window.PublicKeyCredential as unknown as {
    parseCreationOptionsFromJSON?: (o: CreationJSON) => PublicKeyCredentialCreationOptions;
    parseRequestOptionsFromJSON?: (o: RequestJSON) => PublicKeyCredentialRequestOptions;
  };

function descriptors(list: { type: "public-key"; id: string; transports?: string[] }[] | undefined) {
  return list?.map((d) => ({
    type: d.type,
    id: fromBase64Url(d.id),
    ...(d.transports ? { transports: d.transports as AuthenticatorTransport[] } : {}),
  }));
}

function parseCreation(json: CreationJSON): PublicKeyCredentialCreationOptions {
  const parse = PKC().parseCreationOptionsFromJSON;
  if (parse) return parse(json);
  return {
    ...json,
    challenge: fromBase64Url(json.challenge),
    user: { ...json.user, id: fromBase64Url(json.user.id) },
    excludeCredentials: descriptors(json.excludeCredentials),
    attestation: json.attestation,
  } as PublicKeyCredentialCreationOptions;
}

function parseRequest(json: RequestJSON): PublicKeyCredentialRequestOptions {
  const parse = PKC().parseRequestOptionsFromJSON;
  if (parse) return parse(json);
  const { allowCredentials, ...rest } = json;
  return {
    ...rest,
    challenge: fromBase64Url(json.challenge),
    ...(allowCredentials ? { allowCredentials: descriptors(allowCredentials) } : {}),
  } as PublicKeyCredentialRequestOptions;
}

/** What `credential.toJSON()` gives, built by hand when the browser has no toJSON. */
function credentialJSON(credential: PublicKeyCredential): unknown {
  if (typeof credential.toJSON === "function") return credential.toJSON();
  const r = credential.response;
  const common = {
    id: credential.id,
    rawId: toBase64Url(credential.rawId),
    type: "public-key" as const,
    ...(credential.authenticatorAttachment ? { authenticatorAttachment: credential.authenticatorAttachment } : {}),
    clientExtensionResults: {},
  };
  if (r instanceof AuthenticatorAttestationResponse) {
    const key = r.getPublicKey?.();
    return {
      ...common,
      response: {
        clientDataJSON: toBase64Url(r.clientDataJSON),
        attestationObject: toBase64Url(r.attestationObject),
        authenticatorData: toBase64Url(r.getAuthenticatorData()),
        transports: r.getTransports?.() ?? [],
        ...(key ? { publicKey: toBase64Url(key) } : {}),
        publicKeyAlgorithm: r.getPublicKeyAlgorithm(),
      },
    };
  }
  const a = r as AuthenticatorAssertionResponse;
  return {
    ...common,
    response: {
      clientDataJSON: toBase64Url(a.clientDataJSON),
      authenticatorData: toBase64Url(a.authenticatorData),
      signature: toBase64Url(a.signature),
      ...(a.userHandle ? { userHandle: toBase64Url(a.userHandle) } : {}),
    },
  };
}

/** The sentence for a browser's refusal (the user closed the prompt, the passkey exists, …). */
export function passkeyFailure(err: unknown): string {
  if (err instanceof DOMException) {
    if (err.name === "NotAllowedError") return "The passkey prompt was closed or timed out. Nothing was changed.";
    if (err.name === "InvalidStateError") return "This device already holds a passkey for this account.";
    if (err.name === "SecurityError") return "This site's address does not match the server's passkey settings (WEBAUTHN_ORIGINS).";
    return `The browser refused: ${err.message}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** Makes a new passkey with the authenticator: `navigator.credentials.create()`. */
export async function createPasskey(options: CreationJSON): Promise<RegistrationCredential> {
  const credential = (await navigator.credentials.create({ publicKey: parseCreation(options) })) as PublicKeyCredential | null;
  if (!credential) throw new Error("The browser returned no passkey.");
  return credentialJSON(credential) as RegistrationCredential;
}

/** Signs the server's challenge with a passkey: `navigator.credentials.get()`. */
export async function getPasskey(options: RequestJSON): Promise<AuthenticationCredential> {
  const credential = (await navigator.credentials.get({ publicKey: parseRequest(options) })) as PublicKeyCredential | null;
  if (!credential) throw new Error("The browser returned no passkey.");
  return credentialJSON(credential) as AuthenticationCredential;
}
