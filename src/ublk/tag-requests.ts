import type { HostMemory } from '../../native-bindings/host-memory.js';
import { Request, type RequestCompleter } from '../blk/request.js';

/** A queue's Request per tag, and the address each tag's commands carry. */
export interface TagRequests {
  readonly requests: Array<Request<unknown>>;
  /** The command's addr per tag: the tag's buffer (copy), or 0 (user copy, zero copy). */
  readonly commandAddresses: Float64Array;
}

/**
 * One Request per tag of queue `queueId`: tag t's buffer is the t-th `bytesPerTag` of `buffers`
 * (none when the data does not pass through our memory), its data from `newRequestData`.
 */
export function tagRequests(
  queueId: number,
  depth: number,
  buffers: HostMemory | null,
  bytesPerTag: number,
  newRequestData: (tag: number) => unknown,
  completer: RequestCompleter,
): TagRequests {
  const commandAddresses = new Float64Array(depth);
  const requests: Array<Request<unknown>> = [];
  for (let tag = 0; tag < depth; tag++) {
    const offset = tag * bytesPerTag;
    const buffer = buffers === null ? new Uint8Array(0) : buffers.bytes.subarray(offset, offset + bytesPerTag);
    const address = buffers === null ? 0 : buffers.address + offset;
    commandAddresses[tag] = address;
    requests.push(new Request(queueId, tag, buffer, address, newRequestData(tag), completer));
  }
  return { requests, commandAddresses };
}
