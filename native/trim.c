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

/* Node-API 1 is enough; the loader finds the module by this symbol. */
__attribute__((visibility("default"))) int node_api_module_get_api_version_v1(void) { return 1; }

__attribute__((visibility("default"))) napi_value napi_register_module_v1(napi_env env, napi_value exports) {
  /* glibc raises both thresholds to the size of the largest mmapped block freed so far (up to
   * 32 MB and 64 MB): after one big buffer, every thread's heap kept megabytes at its top that
   * neither free() nor malloc_trim() gives back (malloc_trim trims only the main heap's top).
   * Pinned at glibc's starting values, blocks of 128 KiB and more are mapped on their own and
   * unmapped when freed, and a heap whose top passes 128 KiB free is shrunk. */
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  mallopt(M_TRIM_THRESHOLD, 128 * 1024);
  napi_value fn;
  if (napi_create_function(env, "trim", 4, trim, NULL, &fn) == 0) napi_set_named_property(env, exports, "trim", fn);
  return exports;
}
