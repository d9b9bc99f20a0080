/*
 * malloc_trim(0) for Node.js: one Node-API function, `trim()`, that asks glibc's allocator to
 * give the free pages inside its heaps back to the system, and returns whether it gave any.
 *
 * glibc returns memory to the system by itself only from the top of a heap; pages freed in the
 * middle (what a burst of requests leaves behind) stay resident until malloc_trim. The service
 * calls it right after its idle compaction (src/idle-compaction.ts). Built by
 * native/build.mjs; optional: without it the compaction still runs, without this step.
 */
#define NAPI_VERSION 8
#include <node_api.h>

#if !defined(__GLIBC__)
#error "malloc_trim is glibc's: nothing to build on this C library"
#endif
#include <malloc.h>

static napi_value Trim(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value released;
  if (napi_get_boolean(env, malloc_trim(0) != 0, &released) != napi_ok) return NULL;
  return released;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "trim", NAPI_AUTO_LENGTH, Trim, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "trim", fn) != napi_ok) return NULL;
  return exports;
}
