/** Where a queue's reports go (the worker posts them as messages); each for the device's log. */
export interface QueueReports {
  /** A target callback failed one request: what and the stack. */
  readonly targetFailure: (detail: string) => void;
  /** Something the queue could not do as planned; it serves on. */
  readonly warning: (line: string) => void;
}

/** Messages a queue worker posts to the daemon. */
export type QueueMessage =
  | { readonly type: 'ready'; readonly queueId: number; readonly tid: number }
  | { readonly type: 'stopped'; readonly queueId: number }
  /** A target callback failed one request; the queue serves on. `detail`: what and the stack, for the device's log. */
  | { readonly type: 'target-failure'; readonly queueId: number; readonly detail: string }
  /** Something the queue could not do as planned, for the device's log (warn); it serves on. */
  | { readonly type: 'warning'; readonly queueId: number; readonly detail: string }
  /** `message`: one line for the user; `detail`: the error's stack, for the device's log. */
  | { readonly type: 'failed'; readonly queueId: number; readonly message: string; readonly detail: string };
