// oidc-provider 8 ships no type declarations; Latch uses a small part of its API, typed loosely
// here and narrowed where it is used (src/oidc/provider.ts).
declare module 'oidc-provider' {
  const Provider: any;
  export default Provider;
  export const interactionPolicy: any;
  export const errors: any;
}
