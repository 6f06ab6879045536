// TextEncoder/TextDecoder exist in every runtime this package targets (Node, Chromium),
// but the pure part compiles without DOM or Node types; declare just what it uses.
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean });
  decode(input?: Uint8Array): string;
}
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
