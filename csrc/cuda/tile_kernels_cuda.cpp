// The CUDA kernel table of a tile.
#include "cuda/tile_kernels_cuda.h"

namespace analog::cuda_glue {

const TileKernels& tile_kernels() {
  static const TileKernels kernels{
      "cuda",          &io_mvm_cuda,         &pulsed_update_cuda, &program_pcm_cuda,
      &drift_pcm_cuda, &modify_weights_cuda, &io_mvm_points_cuda};
  return kernels;
}

}  // namespace analog::cuda_glue
