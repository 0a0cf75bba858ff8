import type { Logger } from "pino";

/**
 * Tells of connections turned away at the probe server's cap twice per flood,
 * never per connection: a warning at the first one, and how many there were
 * once none has been turned away for `quietMs`. A flood that keeps the server
 * at its cap refuses a connection every time a slot frees and is taken again:
 * judging its end by the open count would log each of those turns.
 */
export class ConnectionWatch {
  private refused = 0;
  private quiet: NodeJS.Timeout | undefined;

  constructor(
    private readonly context: { listen: string; maxConnections: number; openFilesLimit: number },
    private readonly quietMs: number,
    private readonly log: Logger,
  ) {}

  /** A connection past the cap, closed by the server as soon as it was accepted. */
  dropped(): void {
    this.refused++;
    if (this.quiet) {
      this.quiet.refresh();
      return;
    }
    this.log.warn(this.context, "probe server at its connection cap: further connections are closed at once, so the runs keep their file descriptors");
    // Unreferenced: the end of a flood is no reason to keep the process alive.
    this.quiet = setTimeout(() => this.ended(), this.quietMs).unref();
  }

  stop(): void {
    clearTimeout(this.quiet);
  }

  private ended(): void {
    this.log.info({ ...this.context, refusedConnections: this.refused, quietSeconds: this.quietMs / 1000 }, "probe server no longer refusing connections");
    this.refused = 0;
    this.quiet = undefined;
  }
}
