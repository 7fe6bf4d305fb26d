// Preloaded (node --require) by tests that pin lazy loading: a process that loads Koffi fails loudly.
const Module = require('node:module');
const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === 'koffi') throw new Error('koffi was loaded');
  return load.call(this, request, ...rest);
};
