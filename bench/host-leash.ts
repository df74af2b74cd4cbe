// Preloaded (`node --import`) into every host the bench starts. The bench holds the other end of
// the host's stdin: when the bench dies, however it dies (SIGKILL included, where no handler of
// its own runs), stdin ends and the host stops as on SIGTERM, gracefully; if that takes over
// 15 s, it exits anyway. Nothing else of the host changes.
process.stdin.on('end', () => {
  process.kill(process.pid, 'SIGTERM');
  setTimeout(() => process.exit(1), 15_000).unref();
});
process.stdin.resume();
// The open stdin must not keep a host alive that stopped by itself.
process.stdin.unref();

export {};
