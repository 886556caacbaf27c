// The CPU stand-in of cuda/emulation.h: GPU threads as fibers, __syncthreads() as a round of
// the block's scheduler, host "device" memory.
#include "cuda/emulation.h"

#include <ucontext.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

thread_local dim3 threadIdx;
thread_local dim3 blockIdx;
thread_local dim3 blockDim;
thread_local dim3 gridDim;

namespace analog::cuda::emulation {
namespace {

/// One GPU thread: a fiber (own stack and context) on the launching OS thread.
struct Fiber {
  ucontext_t context;
  std::unique_ptr<char[]> stack;
  bool done = false;
};

constexpr size_t kStackBytes = 256 * 1024;

thread_local ucontext_t scheduler;
thread_local Fiber* current = nullptr;
thread_local const std::function<void()>* current_body = nullptr;

void fiber_main() {
  (*current_body)();
  current->done = true;  // returns to `scheduler` through uc_link
}

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "cuda emulation: %s (block %u of %u, %u threads)\n", what, blockIdx.x,
               gridDim.x, blockDim.x);
  std::abort();
}

thread_local Counters thread_counters;

}  // namespace

Counters& counters() { return thread_counters; }

void run_grid(dim3 grid, dim3 block, const std::function<void()>& body) {
  ++thread_counters.launches;
  ++thread_counters.runtime_calls;
  if (grid.y != 1 || grid.z != 1 || block.y != 1 || block.z != 1 || block.x == 0 ||
      block.x > 1024 || grid.x == 0 || grid.x > 0x7fffffffu) {
    std::fprintf(stderr,
                 "cuda emulation: only 1-D launches of 1..2^31-1 blocks of 1..1024 threads, got "
                 "grid (%u,%u,%u) block (%u,%u,%u)\n",
                 grid.x, grid.y, grid.z, block.x, block.y, block.z);
    std::abort();
  }
  std::vector<Fiber> fibers(block.x);
  for (auto& f : fibers) f.stack.reset(new char[kStackBytes]);
  blockDim = block;
  gridDim = grid;
  current_body = &body;
  for (unsigned b = 0; b < grid.x; ++b) {
    blockIdx = dim3(b);
    for (auto& f : fibers) {
      f.done = false;
      if (getcontext(&f.context) != 0) fail("getcontext failed");
      f.context.uc_stack.ss_sp = f.stack.get();
      f.context.uc_stack.ss_size = kStackBytes;
      f.context.uc_link = &scheduler;
      makecontext(&f.context, fiber_main, 0);
    }
    // Run every thread up to its next __syncthreads() (or its end), then all again: a barrier.
    for (;;) {
      unsigned waiting = 0, finished = 0;
      for (unsigned t = 0; t < block.x; ++t) {
        if (fibers[t].done) continue;
        threadIdx = dim3(t);
        current = &fibers[t];
        if (swapcontext(&scheduler, &fibers[t].context) != 0) fail("swapcontext failed");
        ++(fibers[t].done ? finished : waiting);
      }
      if (waiting == 0) break;
      if (finished > 0 || waiting != block.x) {
        fail("__syncthreads() reached by some threads of a block while others have returned");
      }
    }
  }
  current = nullptr;
  current_body = nullptr;
}

}  // namespace analog::cuda::emulation

void __syncthreads() {
  using namespace analog::cuda::emulation;
  Fiber* self = current;
  if (self == nullptr) fail("__syncthreads() outside a kernel");
  if (swapcontext(&self->context, &scheduler) != 0) fail("swapcontext failed");
}

cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  ++analog::cuda::emulation::counters().runtime_calls;
  *ptr = std::malloc(bytes > 0 ? bytes : 1);
  if (*ptr == nullptr) return cudaErrorMemoryAllocation;
  std::memset(*ptr, 0xff, bytes);  // NaN floats, -1 ints: reads of unwritten memory show
  return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
  ++analog::cuda::emulation::counters().runtime_calls;
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind) {
  ++analog::cuda::emulation::counters().runtime_calls;
  if (bytes > 0) std::memmove(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t) {
  return cudaMemcpy(dst, src, bytes, kind);  // (all synchronous here)
}

cudaError_t cudaMemset(void* ptr, int value, size_t bytes) {
  ++analog::cuda::emulation::counters().runtime_calls;
  ++analog::cuda::emulation::counters().memsets;
  if (bytes > 0) std::memset(ptr, value, bytes);
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t) {
  ++analog::cuda::emulation::counters().runtime_calls;
  ++analog::cuda::emulation::counters().syncs;
  return cudaSuccess;
}

cudaError_t cudaHostAlloc(void** ptr, size_t bytes, unsigned) {
  ++analog::cuda::emulation::counters().host_allocs;
  return cudaMalloc(ptr, bytes);  // (host memory either way here)
}

cudaError_t cudaHostGetDevicePointer(void** device, void* host, unsigned) {
  ++analog::cuda::emulation::counters().runtime_calls;
  *device = host;  // device memory is host memory here
  return cudaSuccess;
}

cudaError_t cudaFreeHost(void* ptr) { return cudaFree(ptr); }

cudaError_t cudaGetLastError() { return cudaSuccess; }

const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess:
      return "no error";
    case cudaErrorInvalidValue:
      return "invalid argument";
    case cudaErrorMemoryAllocation:
      return "out of memory";
  }
  return "unknown error";
}
