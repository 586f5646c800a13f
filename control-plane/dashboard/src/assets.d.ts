/** esbuild bundles the stylesheet next to the app. */
declare module '*.css';
