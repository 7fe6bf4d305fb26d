/** The queue worker's entry, beside this module in dist/src/cli and in the bundle's folder alike. */
export const queueWorkerUrl = new URL('./queue-worker.js', import.meta.url);
