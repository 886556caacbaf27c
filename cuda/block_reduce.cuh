// Block-wide max reduction through shared memory (blockDim.x a power of two, <= kBlockThreads).
#pragma once
#include "cuda/runtime.h"

namespace analog::cuda {

constexpr int kBlockThreads = 256;

/// The max of v over the block; every thread must call it (it synchronises).
__device__ inline float block_reduce_max(float v, float* shared) {
  shared[threadIdx.x] = v;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) shared[threadIdx.x] = fmaxf(shared[threadIdx.x], shared[threadIdx.x + s]);
    __syncthreads();
  }
  const float r = shared[0];
  __syncthreads();
  return r;
}

}  // namespace analog::cuda
