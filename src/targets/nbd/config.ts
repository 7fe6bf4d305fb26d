/** Where the export is: a TCP address (numeric, resolved by the daemon) or a unix socket. */
export type NbdEndpoint =
  | { readonly kind: 'tcp'; readonly host: string; readonly ip: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string };

/** What the server said of the export in the handshake (NBD_INFO_EXPORT, NBD_INFO_BLOCK_SIZE). */
export type NbdExport = {
  readonly sizeBytes: number;
  /** NBD_FLAG_* transmission flags. */
  readonly flags: number;
  readonly minimumBlock: number;
  readonly preferredBlock: number;
  readonly maximumBlock: number;
  /** The server agreed to structured replies (NBD_OPT_STRUCTURED_REPLY) on this connection. */
  readonly structuredReplies: boolean;
};

/** The NBD target's configuration: what `add` planned, completed by `open` in the daemon. */
export type NbdConfig = {
  /** 0 until open: the export's size. */
  readonly sizeBytes: number;
  readonly logicalBlockSize: number;
  readonly blockSizeGiven: boolean;
  /** As --host/--port or --unix gave it; the daemon fills in `ip`. */
  readonly endpoint: NbdEndpoint;
  readonly exportName: string;
  /** --read_only: a read-only disk even where the export is writable. */
  readonly readOnly: boolean;
  /** --reconnect_timeout: how long a lost connection's requests are held while it reconnects (0: they fail at once). */
  readonly reconnectTimeoutSeconds: number;
  /** Set by open. */
  readonly export?: NbdExport;
};
