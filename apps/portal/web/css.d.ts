// web/ imports its stylesheet for the side effect, and esbuild bundles it (scripts/build-web.js).
// TypeScript checks side-effect imports since 6.0 (noUncheckedSideEffectImports): this says that a
// .css import is a module with nothing to type.
declare module '*.css';
