// node-postgres's own conversion of a parameter to its text form (untyped in @types/pg).
declare module 'pg/lib/utils.js' {
  export function prepareValue(value: unknown): string | Buffer | null;
}
