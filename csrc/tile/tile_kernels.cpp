// The table of tile kernels by device type.
#include "tile/tile_kernels.h"

#include <atomic>
#include <exception>

#include <c10/util/Exception.h>

#include "cpu/io_pipeline_cpu.h"
#include "cpu/pulsed_update_cpu.h"
#ifdef ANALOG_WITH_TORCH_CUDA
#include "cuda/tile_kernels_cuda.h"
#endif

namespace analog {
namespace {

/// The CPU's pulsed updates, job by job: a job rejected at once (NaN/inf) ends the list.
std::vector<UpdateResult> pulsed_update_jobs_cpu(const std::vector<UpdateJob>& jobs) {
  std::vector<UpdateResult> results;
  for (const UpdateJob& j : jobs) {
    try {
      cpu::pulsed_update_cpu(j.w, j.devices, j.x, j.d, *j.up, *j.dev, j.lr, j.key, j.first_call);
    } catch (...) {  // (it checks everything before it changes a weight)
      results.push_back(
          {false, [error = std::current_exception()] { std::rethrow_exception(error); }});
      break;
    }
    results.push_back({true, {}});
  }
  return results;
}

const TileKernels kCpuKernels{"cpu", &cpu::io_mvm_cpu, &pulsed_update_jobs_cpu};

const TileKernels* built_in(c10::DeviceType type) {
  if (type == c10::DeviceType::CPU) return &kCpuKernels;
#ifdef ANALOG_WITH_TORCH_CUDA
  if (type == c10::DeviceType::CUDA) return &cuda_glue::tile_kernels();
#endif
  return nullptr;
}

// Replacements only (nullptr: the built-in kernels), so that nothing here needs dynamic
// initialisation: a tile used by another library's static initialiser still finds its kernels.
std::atomic<const TileKernels*> g_cpu_replacement{nullptr};
std::atomic<const TileKernels*> g_cuda_replacement{nullptr};

std::atomic<const TileKernels*>* replacement_slot(c10::DeviceType type) {
  if (type == c10::DeviceType::CPU) return &g_cpu_replacement;
  if (type == c10::DeviceType::CUDA) return &g_cuda_replacement;
  return nullptr;
}

}  // namespace

const TileKernels* tile_kernels_for(c10::DeviceType type) {
  const auto* slot = replacement_slot(type);
  const TileKernels* replacement = slot != nullptr ? slot->load() : nullptr;
  return replacement != nullptr ? replacement : built_in(type);
}

const TileKernels* replace_tile_kernels(c10::DeviceType type, const TileKernels* kernels) {
  auto* slot = replacement_slot(type);
  TORCH_CHECK(slot != nullptr, "replace_tile_kernels: expected the CPU or CUDA device type, got ",
              type);
  const TileKernels* previous = slot->exchange(kernels);
  return previous != nullptr ? previous : built_in(type);
}

}  // namespace analog
