// The table of tile kernels by device type.
#include "tile/tile_kernels.h"

#include <atomic>

#include <c10/util/Exception.h>

#include "cpu/pulsed_update_cpu.h"
#ifdef ANALOG_WITH_TORCH_CUDA
#include "cuda/tile_cuda.h"
#endif

namespace analog {
namespace {

const TileKernels kCpuKernels{"cpu", &cpu::io_mvm_cpu, &cpu::pulsed_update_cpu};

const TileKernels* built_in(c10::DeviceType type) {
  if (type == c10::DeviceType::CPU) return &kCpuKernels;
#ifdef ANALOG_WITH_TORCH_CUDA
  if (type == c10::DeviceType::CUDA) return &cuda_glue::tile_kernels();
#endif
  return nullptr;
}

std::atomic<const TileKernels*> g_cpu{&kCpuKernels};
std::atomic<const TileKernels*> g_cuda{built_in(c10::DeviceType::CUDA)};

}  // namespace

const TileKernels* tile_kernels_for(c10::DeviceType type) {
  if (type == c10::DeviceType::CPU) return g_cpu.load();
  if (type == c10::DeviceType::CUDA) return g_cuda.load();
  return nullptr;
}

const TileKernels* replace_tile_kernels(c10::DeviceType type, const TileKernels* kernels) {
  TORCH_CHECK(type == c10::DeviceType::CPU || type == c10::DeviceType::CUDA,
              "replace_tile_kernels: expected the CPU or CUDA device type, got ", type);
  auto& slot = type == c10::DeviceType::CPU ? g_cpu : g_cuda;
  return slot.exchange(kernels != nullptr ? kernels : built_in(type));
}

}  // namespace analog
