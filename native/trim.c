/*
 * floe-trim: a Node addon with one function, trim(), which calls glibc's malloc_trim(0).
 *
 * glibc keeps memory that was freed in the middle of its heaps: after a task printed a million
 * lines a host held 31.5 MB of malloc'd memory with 4.4 MB of it in use, and never gave the rest
 * back (pipe reads, LevelDB's write batches and compactions). malloc_trim hands the free pages to
 * the system; the host calls it when it goes quiet (src/host/idle-collector.ts).
 *
 * Node-API is declared here rather than included, so that building needs only a C compiler,
 * not Node's headers: these few functions are a stable ABI, exported by the node binary.
 */
#include <malloc.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct napi_env__ *napi_env;
typedef struct napi_value__ *napi_value;
typedef struct napi_callback_info__ *napi_callback_info;
typedef int napi_status;
typedef napi_value (*napi_callback)(napi_env env, napi_callback_info info);

extern napi_status napi_create_function(napi_env env, const char *name, size_t length, napi_callback cb, void *data,
                                        napi_value *result);
extern napi_status napi_set_named_property(napi_env env, napi_value object, const char *name, napi_value value);
extern napi_status napi_get_boolean(napi_env env, bool value, napi_value *result);

/* trim(): true when some memory went back to the system. */
static napi_value trim(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result = NULL;
  napi_get_boolean(env, malloc_trim(0) == 1, &result);
  return result;
}

/* The Node-API version the module is built for (1 is enough); Node finds the module itself by
 * napi_register_module_v1 below. */
__attribute__((visibility("default"))) int node_api_module_get_api_version_v1(void) { return 1; }

__attribute__((visibility("default"))) napi_value napi_register_module_v1(napi_env env, napi_value exports) {
  /* glibc raises both thresholds to the size of the largest mmapped block freed so far (up to
   * 32 MB and 64 MB): after one big buffer, every thread's heap kept megabytes at its top that
   * neither free() nor malloc_trim() gives back (malloc_trim trims only the main heap's top).
   * Pinned at 1 MiB: a heap whose top passes 1 MiB free is shrunk, and only blocks of 1 MiB
   * and more get mappings of their own. Not lower: at glibc's starting 128 KiB, every frame or
   * batch of 128 KiB to 256 KiB (a node-output event can be that) was mapped, faulted in and
   * unmapped again, some 10 times slower to allocate. */
  mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
  napi_value fn;
  if (napi_create_function(env, "trim", 4, trim, NULL, &fn) == 0) napi_set_named_property(env, exports, "trim", fn);
  return exports;
}
