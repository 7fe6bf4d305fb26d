import type { Ring } from '../uring/ring.js';
import { BatchCommands } from './batch-commands.js';
import type { IoCommands, RequestSink } from './io-commands.js';
import type { QueueSetup } from './queue-setup.js';
import { TagCommands } from './tag-commands.js';

/**
 * The commands a queue fetches and commits its requests with: the batch set (-b, BATCH_IO) or
 * one per tag (this thread's share of the tags, where several threads serve the queue).
 * `addresses`: each tag's buffer address for the kernel (0 where it has none).
 */
export function queueCommands(setup: QueueSetup, ring: Ring, addresses: Float64Array, sink: RequestSink): IoCommands {
  return setup.batchIo
    ? new BatchCommands(ring, setup.queueId, setup.depth, addresses, setup.zeroCopy, setup.zoned, sink)
    : new TagCommands(ring, setup.queueId, setup.depth, addresses, setup.zeroCopy, sink, setup.share, setup.shares);
}
