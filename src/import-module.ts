// import() of a module by URL (a target module, -t ./x.js) that works from the bundles too. A
// bundle compiled through the code cache (cli/code-cache.ts) runs from a vm.Script, whose
// import() Node 20 serves only behind an experimental option, and not at all from cached
// bytecode; so the cache's installer, compiled by Node's own loader, lends its import() here.

/** Where the code cache's installer puts its import(). */
export const IMPORT_MODULE_KEY = Symbol.for('tsublk.importModule');

type ImportModule = (url: string) => Promise<unknown>;

/** import(url), through the installer's import() where this process or thread has one. */
export function importModule(url: string): Promise<unknown> {
  const lent = (globalThis as { [IMPORT_MODULE_KEY]?: ImportModule })[IMPORT_MODULE_KEY];
  return lent === undefined ? import(url) : lent(url);
}

/** Lends the caller's import() (the code cache's installer). */
export function lendImportModule(importer: ImportModule): void {
  (globalThis as { [IMPORT_MODULE_KEY]?: ImportModule })[IMPORT_MODULE_KEY] = importer;
}
