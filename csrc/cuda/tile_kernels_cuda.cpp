// The CUDA kernel table of a tile.
#include "cuda/tile_kernels_cuda.h"

namespace analog::cuda_glue {

const TileKernels& tile_kernels() {
  static const TileKernels kernels{
      "cuda", &io_mvm_cuda,
      [](const at::Tensor& w, const DeviceArrays& devices, const at::Tensor& x, const at::Tensor& d,
         const UpdateParameters& up, const PulsedDevice& dev, float lr, uint64_t key, uint64_t first_call) {
        // Diffusion and decay run in the tile's post_update_step.
        return pulsed_update_cuda(w, devices, x, d, up, dev, lr, key, first_call);
      },
      &pulsed_update_cuda_many};
  return kernels;
}

}  // namespace analog::cuda_glue
