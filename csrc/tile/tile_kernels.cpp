// The table of tile kernels by device type.
#include "tile/tile_kernels.h"

#include <atomic>
#include <exception>

#include <c10/util/Exception.h>

#include "cpu/inference_cpu.h"
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
      cpu::pulsed_update_cpu(j.w, j.devices, j.x, j.d, *j.up, *j.dev, j.lr, j.key, j.first_call,
                             j.counts);
    } catch (...) {  // (it checks everything before it changes a weight)
      results.push_back(
          {false, [error = std::current_exception()] { std::rethrow_exception(error); }});
      break;
    }
    results.push_back({true, {}});
  }
  return results;
}

void program_pcm_tensors_cpu(const kernels::PcmSpec& p, const at::Tensor& w_ref, uint64_t key,
                             uint64_t call, const at::Tensor& w_prog, const at::Tensor& nu) {
  const int64_t n = w_ref.numel();
  check_inference_tensors("program_pcm", w_ref.device(), {{&w_ref, n}, {&w_prog, n}, {&nu, 2 * n}});
  cpu::program_pcm_cpu(p, w_ref.data_ptr<float>(), n, key, call, w_prog.data_ptr<float>(),
                       nu.data_ptr<float>());
}

void drift_pcm_tensors_cpu(const kernels::PcmSpec& p, const at::Tensor& w_prog,
                           const at::Tensor& nu, float t_inference, uint64_t key, uint64_t call,
                           const at::Tensor& w_out) {
  const int64_t n = w_prog.numel();
  check_inference_tensors("drift_pcm", w_prog.device(), {{&w_prog, n}, {&nu, 2 * n}, {&w_out, n}});
  cpu::drift_pcm_cpu(p, w_prog.data_ptr<float>(), nu.data_ptr<float>(), n, t_inference, key, call,
                     w_out.data_ptr<float>());
}

void modify_weights_tensors_cpu(const kernels::ModifierSpec& m, const at::Tensor& w, float a,
                                uint64_t key, uint64_t call, const at::Tensor& out) {
  const int64_t n = w.numel();
  check_inference_tensors("modify_weights", w.device(), {{&w, n}, {&out, n}});
  cpu::modify_weights_cpu(m, w.data_ptr<float>(), n, a, key, call, out.data_ptr<float>());
}

const TileKernels kCpuKernels{"cpu",
                              &cpu::io_mvm_cpu,
                              &pulsed_update_jobs_cpu,
                              &program_pcm_tensors_cpu,
                              &drift_pcm_tensors_cpu,
                              &modify_weights_tensors_cpu,
                              &cpu::io_mvm_points_cpu};

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

int64_t check_mvm_points(const at::Tensor& x, const at::Tensor& w, bool transposed,
                         const std::vector<kernels::IoPoint>& points, const char* what) {
  const auto count = static_cast<int64_t>(points.size());
  TORCH_CHECK(x.dim() == 3 && w.dim() == 3 && x.size(0) == count && w.size(0) == count, what,
              ": expected x [P, B, n] and w [P, m, n] for ", count, " points, got x ", x.sizes(),
              " and w ", w.sizes());
  TORCH_CHECK(x.scalar_type() == at::kFloat && w.scalar_type() == at::kFloat && w.is_contiguous() &&
                  x.device() == w.device() && (x.size(2) <= 1 || x.stride(2) == 1) &&
                  (x.size(1) <= 1 || x.stride(1) >= x.size(2)),
              what,
              ": expected float32 tensors on one device, w contiguous and x with contiguous rows");
  TORCH_CHECK(w.size(transposed ? 1 : 2) == x.size(2), what, ": x has ", x.size(2), " columns, w ",
              w.sizes(), transposed ? " (transposed)" : "", " expects ",
              w.size(transposed ? 1 : 2));
  for (const auto& p : points) {
    const auto& first = points.front();
    TORCH_CHECK(p.io.is_perfect == first.io.is_perfect &&
                    p.io.w_noise_type == first.io.w_noise_type &&
                    (p.mask_bound > 0.0f) == (first.mask_bound > 0.0f),
                what,
                ": the points of a population must share exact IO, the weight-noise type and "
                "whether the forward pass is bounded");
  }
  return w.size(transposed ? 2 : 1);
}

void check_inference_tensors(const char* what, const at::Device& device,
                             std::initializer_list<std::pair<const at::Tensor*, int64_t>> tensors) {
  for (const auto& [t, numel] : tensors) {
    TORCH_CHECK(t->device() == device && t->scalar_type() == at::kFloat && t->is_contiguous() &&
                    t->numel() == numel,
                what, ": expected contiguous float32 tensors of ", numel, " elements on ", device,
                ", got ", t->scalar_type(), " of ", t->numel(), " on ", t->device());
  }
}

const TileKernels& kernels_on(const at::Device& device, const char* what) {
  const TileKernels* k = tile_kernels_for(device.type());
  TORCH_CHECK(k != nullptr, what, ": no kernels for tensors on ", device,
              device.is_cuda() ? " (this analogtorch was built without CUDA support)" : "");
  return *k;
}

const TileKernels* replace_tile_kernels(c10::DeviceType type, const TileKernels* kernels) {
  auto* slot = replacement_slot(type);
  TORCH_CHECK(slot != nullptr, "replace_tile_kernels: expected the CPU or CUDA device type, got ",
              type);
  const TileKernels* previous = slot->exchange(kernels);
  return previous != nullptr ? previous : built_in(type);
}

}  // namespace analog
