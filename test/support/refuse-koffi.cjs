// Preloaded (node --require) by tests that pin lazy loading: a process that loads Koffi fails
// loudly, whether through its package entry or by opening its native module directly.
const Module = require('node:module');
const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === 'koffi') throw new Error('koffi was loaded');
  return load.call(this, request, ...rest);
};
const dlopen = process.dlopen;
process.dlopen = function (module, file, ...rest) {
  if (String(file).endsWith('/koffi.node')) throw new Error('koffi was loaded');
  return dlopen.call(this, module, file, ...rest);
};
