// Block-wide reductions through shared memory (blockDim.x a power of two, <= kBlockThreads).
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
__device__ inline float block_reduce_max(float v, float* shared) { return block_reduce(v, shared, MaxOp{}); }

/// The sum of v over the block (as block_reduce).
__device__ inline float block_reduce_sum(float v, float* shared) { return block_reduce(v, shared, SumOp{}); }

}  // namespace analog::cuda
