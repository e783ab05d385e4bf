/**
 * The two modules of `qrcode` that make an SVG (its core and its SVG renderer), imported
 * directly: the package's entry point also bundles the PNG renderer (pngjs, ~30 KiB), which the
 * mfa function never uses, and which would push its bundle past the target (docs/performance.md).
 */
declare module 'qrcode/lib/core/qrcode' {
  export function create(text: string, options?: { errorCorrectionLevel?: 'L' | 'M' | 'Q' | 'H' }): unknown;
}
declare module 'qrcode/lib/renderer/svg-tag' {
  export function render(qrData: unknown, options?: Record<string, unknown>): string;
}
