/** Messages a queue worker posts to the daemon. */
export type QueueMessage =
  | { readonly type: 'ready'; readonly queueId: number; readonly tid: number }
  | { readonly type: 'stopped'; readonly queueId: number }
  /** A target callback failed one request; the queue serves on. `detail`: what and the stack, for the device's log. */
  | { readonly type: 'target-failure'; readonly queueId: number; readonly detail: string }
  /** `message`: one line for the user; `detail`: the error's stack, for the device's log. */
  | { readonly type: 'failed'; readonly queueId: number; readonly message: string; readonly detail: string };
