/**
 * `add --foreground`'s exit statuses, one per kind of end, for a supervisor to tell apart
 * (systemd: RestartPreventExitStatus=2, as a bad config does not mend itself).
 */
export const EXIT = {
  /** Stopped by SIGTERM/SIGINT (or quiesced for a new daemon), the device deleted or handed over. */
  OK: 0,
  /** Any other failure (the stop itself failed). */
  FAILED: 1,
  /** The options or --config are wrong: nothing was asked of the kernel. */
  BAD_CONFIG: 2,
  /** The kernel refused the device, or it could not start (no ublk_drv, a missing feature, a backing that would not open). */
  REFUSED: 3,
  /** A queue stopped serving after its target failed; the device was stopped and deleted. */
  TARGET_FAILED: 4,
} as const;
