export { type Operations } from './operations.js';
export { Request, ReqOp, ReqFlag, type RequestCompleter } from './request.js';
export { type DiskParameters, validLogicalBlockSizes } from './disk.js';
