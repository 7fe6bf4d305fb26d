/** Per-tag states: who issues the tag's next command (asserted where it matters). */
export const TagState = { Fetching: 1, Serving: 2, Aborted: 3 } as const;

/** The queue that serves what the kernel hands over; called once per new request, no closures. */
export interface RequestSink {
  /** Request `tag` arrived (its descriptor is written); `last`: the last one this round. */
  serve(tag: number, last: boolean): void;
}

/**
 * How a queue takes requests from the kernel and hands results back: one command per tag
 * (FETCH_REQ, COMMIT_AND_FETCH_REQ: tag-commands.ts) or batches of tags per command (UBLK_F_BATCH_IO:
 * batch-commands.ts). The queue's loop, its targets and their Operations see the same calls
 * whichever carries them.
 */
export interface IoCommands {
  /** TagState per tag, written by these commands and by the queue (Serving). */
  readonly states: Uint8Array;
  /**
   * Whether one completion brings many requests (batch I/O's fetch): waiting for several
   * completions would wait for several batches, so the queue leaves batching its wait to the kernel.
   */
  readonly batchedByKernel: boolean;
  /** Arms every tag for its first request and submits; throws when the kernel refuses. */
  start(): void;
  /** The target ended request `tag` with `result`; `zoneAppendSector` for a zone append, else -1. */
  commit(tag: number, result: number, zoneAppendSector: number): void;
  /** Writes what commit() gathered into SQEs: called before every wait on the ring. */
  flush(): void;
  /** A completion of one of these commands (user_data kind UblkCommand); new requests go to the sink. */
  completed(userData: number, result: number, cqeFlags: number, lastCqe: boolean): void;
  /** Whether the device is going away (some commands came back aborted). */
  ending(): boolean;
  /** Whether nothing is left to serve or to wait for: the queue's loop ends. */
  ended(): boolean;
  /** Frees the commands' memory: only after the ring is closed (the kernel may write to it until then). */
  release(): void;
}
