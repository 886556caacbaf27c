// Block-wide reductions and scans through shared memory (blockDim.x a power of two, <=
// kBlockThreads).
#pragma once
#include "cuda/runtime.h"

namespace analog::cuda {

constexpr int kBlockThreads = 256;

struct MaxOp {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};
struct SumOp {
  __device__ float operator()(float a, float b) const { return a + b; }
};

/// op folded over v of every thread of the block, in a fixed tree order; every thread must call
/// it (it synchronises) and gets the result.
template <typename Op>
__device__ inline float block_reduce(float v, float* shared, Op op) {
  shared[threadIdx.x] = v;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) shared[threadIdx.x] = op(shared[threadIdx.x], shared[threadIdx.x + s]);
    __syncthreads();
  }
  const float r = shared[0];
  __syncthreads();
  return r;
}

/// The max of v over the block (as block_reduce).
__device__ inline float block_reduce_max(float v, float* shared) {
  return block_reduce(v, shared, MaxOp{});
}

/// The sum of v over the block (as block_reduce).
__device__ inline float block_reduce_sum(float v, float* shared) {
  return block_reduce(v, shared, SumOp{});
}

/// Inclusive prefix sum of v over the threads of the block, in thread order (shared holds
/// blockDim.x values); `total` receives the sum over the block. Every thread must call it (it
/// synchronises), and shared may be reused when it returns.
template <typename T>
__device__ inline T block_inclusive_scan(T v, T* shared, T& total) {
  shared[threadIdx.x] = v;
  __syncthreads();
  for (unsigned offset = 1; offset < blockDim.x; offset <<= 1) {
    const T add = threadIdx.x >= offset ? shared[threadIdx.x - offset] : T(0);
    __syncthreads();
    shared[threadIdx.x] += add;
    __syncthreads();
  }
  const T r = shared[threadIdx.x];
  total = shared[blockDim.x - 1];
  __syncthreads();
  return r;
}

}  // namespace analog::cuda
