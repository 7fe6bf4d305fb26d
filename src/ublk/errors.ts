// The ublk layer's name for the one user-facing error class (src/errors.ts).
export { UserError as UblkError } from '../errors.js';
