/*
 * floe-spawner: starts floe's task processes with posix_spawn (a vfork-style clone that does
 * not copy the host's memory map, unlike libuv's fork), reads their pipes and reports their
 * exits. One long-lived helper per host, driven over its stdin and stdout by
 * src/nodes/helper-spawner.ts, which holds the protocol's other half. The host still kills
 * process groups itself (kill(-pgid)); this helper only starts, reads and reaps.
 *
 * Frames, both ways: u32 length of what follows, u8 type, u32 request id, payload (integers
 * little-endian).
 *   in  'S' spawn: u32 argc, u32 envc, then NUL-terminated cwd, argv[0..argc), env[0..envc)
 *              (argv[0] is the file run, searched on the env's PATH when it has no slash)
 *   in  'C' close the pipes of a request (the host stopped waiting for a background child)
 *   out 'H' hello (id 0): u32 protocol version, once at start
 *   out 'P' started: i32 pid (== its process group, and its session)
 *   out 'F' failed to start: i32 errno
 *   out 'O' / 'E' bytes read from the process's stdout / stderr
 *   out 'X' exited: i32 exit code (-1 when signalled), i32 signal number (0 when exited)
 *   out 'D' both pipes are closed: nothing more for this request but 'X' if not yet sent
 * EOF on stdin ends the helper; the processes it started keep running (the host kills them).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROTOCOL 1
#define MAX_FRAME (64u << 20)
#define READ_CHUNK 65536
/* Each task pipe holds this much, not Linux's 64 KiB: lines a task prints faster than the host
   can take wait in the pipe, and with 4 tasks flooding 100 websocket clients on 2 cores that
   wait was most of a line's way to the dashboard (issue 10: delivery p50 ~75 ms at 64 KiB,
   ~30 ms at 16 KiB). Throughput is the reader's either way: output-lines measured the same. */
#define TASK_PIPE_BYTES 16384

struct task {
  uint32_t id;
  pid_t pid; /* 0 once reaped */
  int fd[2]; /* stdout, stderr read ends; -1 once closed */
};

static struct task *tasks;
static size_t ntasks, captasks;
static int sigchld_pipe[2];

static unsigned char *outbuf;
static size_t outlen, outcap;

static void die(const char *what) {
  fprintf(stderr, "floe-spawner: %s: %s\n", what, strerror(errno));
  exit(2);
}

static void *grow(void *p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return p;
  size_t c = *cap ? *cap : 16;
  while (c < need) c *= 2;
  void *q = realloc(p, c * elem);
  if (!q) die("out of memory");
  *cap = c;
  return q;
}

static void put_u32(unsigned char *b, uint32_t v) {
  b[0] = v & 0xff, b[1] = (v >> 8) & 0xff, b[2] = (v >> 16) & 0xff, b[3] = v >> 24;
}

static uint32_t get_u32(const unsigned char *b) {
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* Queues a frame; flush() writes what is queued once per turn of the loop. */
static void frame(char type, uint32_t id, const void *payload, size_t len) {
  outbuf = grow(outbuf, &outcap, outlen + 9 + len, 1);
  unsigned char *b = outbuf + outlen;
  put_u32(b, (uint32_t)(5 + len));
  b[4] = (unsigned char)type;
  put_u32(b + 5, id);
  if (len) memcpy(b + 9, payload, len);
  outlen += 9 + len;
}

static void frame_i32s(char type, uint32_t id, int32_t a, int32_t b, int n) {
  unsigned char p[8];
  put_u32(p, (uint32_t)a);
  put_u32(p + 4, (uint32_t)b);
  frame(type, id, p, (size_t)n * 4);
}

/* Blocking: a host slow to read slows the tasks' pipes down with it, nothing is dropped. */
static void flush(void) {
  size_t off = 0;
  while (off < outlen) {
    ssize_t n = write(1, outbuf + off, outlen - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      exit(errno == EPIPE ? 0 : 2); /* the host is gone */
    }
    off += (size_t)n;
  }
  outlen = 0;
}

static void on_sigchld(int sig) {
  (void)sig;
  int saved = errno;
  ssize_t ignored = write(sigchld_pipe[1], "x", 1); /* a full pipe already says "reap" */
  (void)ignored;
  errno = saved;
}

static struct task *find_task(uint32_t id) {
  for (size_t i = 0; i < ntasks; i++)
    if (tasks[i].id == id) return &tasks[i];
  return NULL;
}

static void close_fd(struct task *t, int which) {
  if (t->fd[which] < 0) return;
  close(t->fd[which]);
  t->fd[which] = -1;
  if (t->fd[0] < 0 && t->fd[1] < 0) frame('D', t->id, NULL, 0);
}

/* Drops tasks that are reaped and whose pipes are closed. */
static void compact(void) {
  size_t j = 0;
  for (size_t i = 0; i < ntasks; i++)
    if (tasks[i].pid != 0 || tasks[i].fd[0] >= 0 || tasks[i].fd[1] >= 0) tasks[j++] = tasks[i];
  ntasks = j;
}

/* PATH for posix_spawnp's search: the task's own, as Node's spawn searches it. */
static void use_path_of(char **envp) {
  for (char **e = envp; *e; e++)
    if (strncmp(*e, "PATH=", 5) == 0) {
      setenv("PATH", *e + 5, 1);
      return;
    }
  unsetenv("PATH"); /* glibc then searches its default path */
}

static void spawn_task(uint32_t id, const unsigned char *p, size_t len) {
  if (len < 8) {
    frame_i32s('F', id, EINVAL, 0, 1);
    return;
  }
  uint32_t argc = get_u32(p), envc = get_u32(p + 4);
  const char *s = (const char *)p + 8, *end = (const char *)p + len;
  size_t nstr = 1 + (size_t)argc + envc;
  if (argc == 0 || argc > len || envc > len) {
    frame_i32s('F', id, EINVAL, 0, 1);
    return;
  }
  char **strs = malloc((nstr + 2) * sizeof(char *));
  if (!strs) die("out of memory");
  for (size_t i = 0; i < nstr; i++) {
    const char *z = memchr(s, 0, (size_t)(end - s));
    if (!z) {
      free(strs);
      frame_i32s('F', id, EINVAL, 0, 1);
      return;
    }
    strs[i] = (char *)s;
    s = z + 1;
  }
  const char *cwd = strs[0];
  char **argv = strs + 1; /* argv[argc] is overwritten with NULL below, env moved after it */
  char **envp = strs + 1 + argc + 1;
  memmove(envp, strs + 1 + argc, envc * sizeof(char *));
  argv[argc] = NULL;
  envp[envc] = NULL;

  int out[2] = {-1, -1}, err[2] = {-1, -1};
  if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
    int e = errno;
    if (out[0] >= 0) close(out[0]), close(out[1]);
    free(strs);
    frame_i32s('F', id, e, 0, 1);
    return;
  }
  /* Best effort: a pipe that keeps its size still works. */
  (void)fcntl(out[1], F_SETPIPE_SZ, TASK_PIPE_BYTES);
  (void)fcntl(err[1], F_SETPIPE_SZ, TASK_PIPE_BYTES);
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addchdir_np(&fa, cwd);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all); /* this helper ignores SIGPIPE; a task must not */
  /* A new session, as Node's detached spawn (setsid) makes: the task leads its own process
     group (pgid == pid), and no terminal of the host's reaches it. */
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  use_path_of(envp);
  pid_t pid;
  int rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  free(strs);
  close(out[1]);
  close(err[1]);
  if (rc != 0) {
    close(out[0]);
    close(err[0]);
    frame_i32s('F', id, rc, 0, 1);
    return;
  }
  tasks = grow(tasks, &captasks, ntasks + 1, sizeof *tasks);
  tasks[ntasks++] = (struct task){.id = id, .pid = pid, .fd = {out[0], err[0]}};
  frame_i32s('P', id, pid, 0, 1);
}

static void reap(void) {
  char drain[64];
  while (read(sigchld_pipe[0], drain, sizeof drain) > 0) {
  }
  for (;;) {
    int st;
    pid_t pid = waitpid(-1, &st, WNOHANG);
    if (pid <= 0) return;
    for (size_t i = 0; i < ntasks; i++) {
      if (tasks[i].pid != pid) continue;
      tasks[i].pid = 0;
      if (WIFSIGNALED(st)) frame_i32s('X', tasks[i].id, -1, WTERMSIG(st), 2);
      else frame_i32s('X', tasks[i].id, WEXITSTATUS(st), 0, 2);
      break;
    }
  }
}

static unsigned char *inbuf;
static size_t inlen, incap;

/* Reads what the host sent and acts on each whole frame; false at EOF. */
static int read_requests(void) {
  inbuf = grow(inbuf, &incap, inlen + READ_CHUNK, 1);
  ssize_t n = read(0, inbuf + inlen, incap - inlen);
  if (n == 0) return 0;
  if (n < 0) {
    if (errno == EINTR || errno == EAGAIN) return 1;
    die("read stdin");
  }
  inlen += (size_t)n;
  size_t off = 0;
  while (inlen - off >= 4) {
    uint32_t len = get_u32(inbuf + off);
    if (len < 5 || len > MAX_FRAME) {
      fprintf(stderr, "floe-spawner: bad frame length %u\n", len);
      exit(2);
    }
    if (inlen - off - 4 < len) {
      inbuf = grow(inbuf, &incap, off + 4 + len, 1);
      break;
    }
    const unsigned char *f = inbuf + off + 4;
    uint32_t id = get_u32(f + 1);
    if (f[0] == 'S') {
      spawn_task(id, f + 5, len - 5);
    } else if (f[0] == 'C') {
      struct task *t = find_task(id);
      if (t) close_fd(t, 0), close_fd(t, 1);
    } else {
      fprintf(stderr, "floe-spawner: unknown request type %d\n", f[0]);
      exit(2);
    }
    off += 4 + len;
  }
  memmove(inbuf, inbuf + off, inlen - off);
  inlen -= off;
  return 1;
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  if (pipe2(sigchld_pipe, O_CLOEXEC | O_NONBLOCK) < 0) die("pipe");
  struct sigaction sa = {0};
  sa.sa_handler = on_sigchld;
  sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGCHLD, &sa, NULL) < 0) die("sigaction");
  /* The host's end of stdin and stdout must not reach a task (posix_spawn replaces 0-2 anyway). */
  fcntl(0, F_SETFD, FD_CLOEXEC);
  fcntl(1, F_SETFD, FD_CLOEXEC);

  frame_i32s('H', 0, PROTOCOL, 0, 1);
  flush();

  struct pollfd *pfds = NULL;
  size_t cappfds = 0;
  unsigned char *chunk = malloc(READ_CHUNK);
  if (!chunk) die("out of memory");
  for (;;) {
    pfds = grow(pfds, &cappfds, 2 + 2 * ntasks, sizeof *pfds);
    size_t n = 0;
    pfds[n++] = (struct pollfd){.fd = 0, .events = POLLIN};
    pfds[n++] = (struct pollfd){.fd = sigchld_pipe[0], .events = POLLIN};
    for (size_t i = 0; i < ntasks; i++)
      for (int w = 0; w < 2; w++)
        if (tasks[i].fd[w] >= 0) pfds[n++] = (struct pollfd){.fd = tasks[i].fd[w], .events = POLLIN};
    if (poll(pfds, n, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    /* Pipes before exits: a task's last output goes out ahead of its 'X' when both are ready. */
    for (size_t k = 2; k < n; k++) {
      if (!pfds[k].revents) continue;
      for (size_t i = 0; i < ntasks; i++)
        for (int w = 0; w < 2; w++) {
          if (tasks[i].fd[w] != pfds[k].fd) continue;
          ssize_t r = read(pfds[k].fd, chunk, READ_CHUNK);
          if (r > 0) frame(w == 0 ? 'O' : 'E', tasks[i].id, chunk, (size_t)r);
          else if (r == 0 || (errno != EINTR && errno != EAGAIN)) close_fd(&tasks[i], w);
        }
    }
    if (pfds[1].revents) reap();
    if (pfds[0].revents && !read_requests()) {
      flush();
      return 0;
    }
    compact();
    flush();
  }
}
