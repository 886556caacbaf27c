// CUDA kernels: device sampling and raw random streams.
#include "cuda/device_sampling_cuda.h"

#include "analog/kernels/rng.h"
#include "cuda/cuda_check.h"
#include "cuda/runtime.h"

namespace analog::cuda {
namespace {

__global__ void sample_kernel(kernels::DeviceSpec spec, int64_t out_size, int64_t in_size,
                              bool bias_column, uint64_t key, float* params, float* slopes) {
  const int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (e >= out_size * in_size) return;
  const bool bias_device = bias_column && (e % in_size) == in_size - 1;
  const auto d = kernels::sample_device(spec, key, static_cast<uint64_t>(e), bias_device);
  params[4 * e] = d.w_min;
  params[4 * e + 1] = d.w_max;
  params[4 * e + 2] = d.dw_up;
  params[4 * e + 3] = d.dw_down;
  if (slopes != nullptr) {
    slopes[2 * e] = d.slope_up;
    slopes[2 * e + 1] = d.slope_down;
  }
}

__global__ void normals_kernel(uint64_t key, uint64_t call, uint32_t domain, uint32_t round,
                               int64_t count, float* out) {
  const int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (k >= count) return;
  out[k] = kernels::stream_normal(key, call, static_cast<kernels::Domain>(domain), round,
                                  static_cast<uint64_t>(k));
}

}  // namespace

void launch_sample_devices(const kernels::DeviceSpec& spec, int64_t out_size, int64_t in_size,
                           bool bias_column, uint64_t key, float* params, float* slopes,
                           void* stream) {
  const int64_t n = out_size * in_size;
  if (n == 0) return;
  ANALOG_LAUNCH(sample_kernel, static_cast<unsigned>((n + 255) / 256), 256,
                static_cast<cudaStream_t>(stream))
  (spec, out_size, in_size, bias_column, key, params, slopes);
  ANALOG_CUDA_CHECK(cudaGetLastError());
}

void launch_stream_normals(uint64_t key, uint64_t call, uint32_t domain, uint32_t round,
                           int64_t count, float* out, void* stream) {
  if (count == 0) return;
  ANALOG_LAUNCH(normals_kernel, static_cast<unsigned>((count + 255) / 256), 256,
                static_cast<cudaStream_t>(stream))
  (key, call, domain, round, count, out);
  ANALOG_CUDA_CHECK(cudaGetLastError());
}

}  // namespace analog::cuda
