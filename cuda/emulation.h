// A CPU stand-in for the part of the CUDA runtime that cuda/ uses, so that the kernels' own
// source runs (and is tested against the CPU path) on machines without a GPU.
//
// Built with ANALOG_CUDA_EMULATION (tests only; see tests/CMakeLists.txt): the .cu files are
// compiled as C++. A launch runs on the calling thread: the blocks one after another, each GPU
// thread of a block a fiber (ucontext) of its own, run in turn up to its next __syncthreads(),
// which is therefore a barrier; a barrier that only some threads of a block reach (undefined on a
// GPU) aborts with a message. Between barriers the threads run in index order, which shows a
// missing barrier where a thread reads what a higher-numbered one writes, but hides one where it
// reads a lower-numbered thread's write. __shared__ memory is a static (thread_local: one block
// lives at a time per launching thread).
// Device memory is host memory: cudaMalloc's pointers are plain heap pointers filled with 0xff
// bytes (NaN floats), so that a kernel reading memory nobody wrote shows. Only 1-D launches.
// Not emulated: warps (cuda/ uses no warp intrinsics), streams (every call is synchronous), the
// real runtime's errors (bad launches, out-of-bounds accesses) and the GPU's arithmetic: the
// parity tests on a GPU check those.
#pragma once

#if !defined(ANALOG_CUDA_EMULATION) || defined(__CUDACC__)
#error "cuda/emulation.h is for host builds with ANALOG_CUDA_EMULATION (see cuda/runtime.h)"
#endif

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <tuple>

// ---- language ------------------------------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static thread_local  // one block at a time per launching thread
#define __launch_bounds__(...)
#define __grid_constant__  // (kernel arguments are copies of their own anyway)

using std::isfinite;
using std::isinf;

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

extern thread_local dim3 threadIdx;
extern thread_local dim3 blockIdx;
extern thread_local dim3 blockDim;
extern thread_local dim3 gridDim;

/// Returns when every thread of the block has reached it (see the top of this file).
void __syncthreads();

inline int __popc(unsigned v) { return __builtin_popcount(v); }
inline int __ffs(int v) { return __builtin_ffs(v); }
/// Atomic as on a GPU: only one thread of a launch runs at a time, and none is interrupted
/// between barriers.
inline unsigned atomicOr(unsigned* address, unsigned value) {
  const unsigned old = *address;
  *address = old | value;
  return old;
}
inline unsigned long long atomicAdd(unsigned long long* address, unsigned long long value) {
  const unsigned long long old = *address;
  *address = old + value;
  return old;
}

// ---- runtime API ---------------------------------------------------------------------------
struct CUstream_st;
using cudaStream_t = CUstream_st*;

enum cudaError_t { cudaSuccess = 0, cudaErrorInvalidValue = 1, cudaErrorMemoryAllocation = 2 };
enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4
};

cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaMalloc(void** ptr, size_t bytes);
cudaError_t cudaFree(void* ptr);
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream);
cudaError_t cudaMemset(void* ptr, int value, size_t bytes);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
constexpr unsigned cudaHostAllocPortable = 1;
constexpr unsigned cudaHostAllocMapped = 2;
cudaError_t cudaHostAlloc(void** ptr, size_t bytes, unsigned flags);
cudaError_t cudaHostGetDevicePointer(void** device, void* host, unsigned flags);
cudaError_t cudaFreeHost(void* ptr);
cudaError_t cudaGetLastError();
const char* cudaGetErrorString(cudaError_t error);

// ---- launches ------------------------------------------------------------------------------
namespace analog::cuda::emulation {

/// What the calling thread has asked of the runtime so far: kernel launches, memsets and host
/// syncs (cudaStreamSynchronize). On a GPU each is a launch or a stall of the host, which a small
/// layer is bound by; tests and bench_launches count them. runtime_calls counts every call of the
/// runtime API that reaches the driver (all of the above, copies and host-memory calls; not
/// cudaGetLastError): on a GPU each costs host time, and the threads of one process queue for
/// them (a training step's count bounds how many steps a second the runs of a GPU sweep can make
/// together).
struct Counters {
  int64_t launches = 0, memsets = 0, syncs = 0, runtime_calls = 0;
  int64_t host_allocs = 0;  ///< cudaHostAlloc calls (pinned, mapped host memory)
};
Counters& counters();

/// Runs body once per thread of a grid x block launch (see the top of this file).
void run_grid(dim3 grid, dim3 block, const std::function<void()>& body);

template <class... Params>
struct Launch {
  void (*kernel)(Params...);
  dim3 grid, block;
  template <class... Args>
  void operator()(Args&&... args) const {
    static_assert(sizeof...(Args) == sizeof...(Params),
                  "kernel launched with the wrong argument count");
    // Kernel arguments are copied per launch, as on a GPU.
    auto call = [k = kernel, params = std::tuple<Params...>(static_cast<Params>(args)...)] {
      std::apply(k, params);
    };
    run_grid(grid, block, call);
  }
};

/// ANALOG_LAUNCH(kernel, grid, block, stream)(args...): the stream is ignored (all synchronous).
template <class... Params>
Launch<Params...> launch(void (*kernel)(Params...), dim3 grid, dim3 block,
                         cudaStream_t /*stream*/) {
  return Launch<Params...>{kernel, grid, block};
}

}  // namespace analog::cuda::emulation
