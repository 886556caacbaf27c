// Torch glue of the pulsed update's CUDA kernels: argument checks, the tiles' shared launches,
// one workspace and one piece of mapped flags per set of launches, the host fallback for the
// deterministic pulse types.
#include <exception>
#include <functional>
#include <memory>
#include <vector>

#include <ATen/ATen.h>

#include "analog/energy/events.h"
#include "analog/nonfinite_error.h"
#include "cpu/pulsed_update_cpu.h"
#include "cuda/device_context.h"
#include "cuda/mapped_flags.h"
#include "cuda/pulsed_update_cuda.h"
#include "cuda/tile_kernels_cuda.h"
#include "tile/contiguous_rows.h"
#include "tile/kernel_specs.h"

namespace analog::cuda_glue {

std::vector<UpdateResult> pulsed_update_cuda(const std::vector<UpdateJob>& jobs) {
  // Every job is applied (queued): a NaN/inf comes back in its check.
  std::vector<UpdateResult> results(jobs.size());
  // The jobs for the kernels: those in a row on one device share launches.
  std::vector<size_t> group;
  const auto flush = [&]() {
    if (group.empty()) return;
    const at::Tensor& first = jobs[group.front()].w;
    DeviceGuard guard(first.device());
    // One allocation for all: per job, its workspace (256-byte aligned, as separate allocations
    // would be), then whether each sample's x holds a NaN or inf ([0, samples)) and whether its
    // d does ([samples, 2 samples)), which the kernels read; the host reads its copy of those
    // flags in one piece of mapped memory.
    std::vector<cuda::UpdateTile> tiles;
    std::vector<int64_t> ws_at, nf_at,
        flags_at;  // each job's workspace, its flags there, its host flags
    int64_t words = aligned_words(static_cast<int64_t>(
                (cuda::pulsed_update_args_bytes(static_cast<int>(group.size())) + 3) / 4)),
            flag_count = 0;  // (the launches' arguments first)
    for (const size_t k : group) {
      const UpdateJob& j = jobs[k];
      cuda::UpdateTile t{};
      t.ldx = row_stride(j.x);
      t.samples = j.x.size(0);
      t.in_size = j.x.size(1);
      t.out_size = j.d.size(1);
      t.up = update_spec(*j.up, *j.dev, j.lr);
      t.key = j.key;
      t.first_call = j.first_call;
      t.counts = j.counts;
      tiles.push_back(t);
      ws_at.push_back(words);
      words += aligned_words(static_cast<int64_t>(
          (cuda::pulsed_update_workspace_bytes(t.samples, t.in_size, t.out_size, t.up) + 3) / 4));
      nf_at.push_back(words);
      words += aligned_words(2 * t.samples);
      flags_at.push_back(flag_count);
      flag_count += 2 * t.samples;
    }
    const at::Tensor workspace = at::empty({words}, first.options().dtype(at::kInt));
    auto host_flags = std::make_shared<MappedFlags>(flag_count);
    for (size_t i = 0; i < group.size(); ++i) {
      const UpdateJob& j = jobs[group[i]];
      cuda::UpdateTile& t = tiles[i];
      t.w = j.w.data_ptr<float>();
      t.devices = j.devices.params.data_ptr<float>();
      t.slopes =
          t.up.model == DeviceModel::kLinearStep ? j.devices.slopes.data_ptr<float>() : nullptr;
      t.x = j.x.data_ptr<float>();
      t.d = j.d.data_ptr<float>();
      t.workspace = workspace.data_ptr<int32_t>() + ws_at[i];
      t.non_finite = workspace.data_ptr<int32_t>() + nf_at[i];
      t.non_finite_host = host_flags->device() + flags_at[i];
    }
    cuda::launch_pulsed_updates(tiles.data(), static_cast<int>(tiles.size()), current_stream(),
                                workspace.data_ptr<int32_t>());
    // The kernels left a tile's W unchanged if its check failed; the check reports the first bad
    // sample, x before d, as the CPU path does.
    for (size_t i = 0; i < group.size(); ++i) {
      const int64_t samples = tiles[i].samples, at_flag = flags_at[i];
      results[group[i]].check = defer_check(host_flags, [samples, at_flag](const int32_t* all) {
        const int32_t* flags = all + at_flag;
        for (int64_t s = 0; s < samples; ++s) {
          ANALOG_CHECK_FINITE(
              flags[s] == 0,
              "AnalogTile.update: expected finite inputs x, got NaN or inf in sample ", s);
          ANALOG_CHECK_FINITE(
              flags[samples + s] == 0,
              "AnalogTile.update: expected finite gradients d, got NaN or inf in sample ", s);
        }
      });
    }
    group.clear();
  };
  // Every job's arguments first: past this point nothing throws before each job has its check
  // (what a caller needs to account for pulses applied).
  for (const UpdateJob& j : jobs) {
    const at::Tensor& w = j.w;
    const at::Tensor& devices = j.devices.params;
    TORCH_CHECK(w.is_contiguous() && devices.is_contiguous() && has_contiguous_rows(j.x) &&
                    j.d.is_contiguous() && on_kernel_device(w) && j.x.device() == w.device() &&
                    j.d.device() == w.device() && devices.device() == w.device(),
                "AnalogTile.update: expected tensors on ", w.device(),
                ", contiguous (x: contiguous rows)");
    TORCH_CHECK(j.dev->model() != DeviceModel::kLinearStep || j.devices.slopes_fit(w),
                "AnalogTile.update: a linear_step device needs its slopes [", w.size(0), ", ",
                w.size(1), ", 2] on ", w.device());
    TORCH_CHECK(j.x.size(0) <= INT32_MAX,
                "AnalogTile.update: expected at most 2^31 - 1 samples, got ", j.x.size(0));
  }
  for (size_t k = 0; k < jobs.size(); ++k) {
    const UpdateJob& j = jobs[k];
    const at::Tensor& w = j.w;
    if (j.up->pulse_type() != PulseType::kStochasticCompressed) {
      // Sequential deterministic rules: run them on a CPU copy. Its NaN/inf error (W unchanged)
      // comes back as the job's check, as the kernels' does.
      DeviceGuard guard(w.device());
      at::Tensor w_cpu = w.cpu();
      DeviceArrays arrays;
      arrays.params = j.devices.params.cpu();
      if (j.devices.slopes.defined()) arrays.slopes = j.devices.slopes.cpu();
      int64_t counts[kUpdateCounters] = {};
      try {
        cpu::pulsed_update_cpu(w_cpu, arrays, j.x.cpu(), j.d.cpu(), *j.up, *j.dev, j.lr, j.key,
                               j.first_call, counts);
      } catch (const NonFiniteError&) {
        results[k].check = [error = std::current_exception()] { std::rethrow_exception(error); };
        continue;
      }
      w.copy_(w_cpu);
      static_assert(kBlWantedCounted == kUpdateCounters - 1, "the sums come first");
      add_to_counters(j.counts, counts, kBlWantedCounted, w);  // the sums
      if (j.counts) max_into_counter(j.counts + kBlWantedCounted, counts[kBlWantedCounted], w);
      continue;
    }
    if (j.x.size(0) == 0 || j.x.size(1) == 0 || j.d.size(1) == 0)
      continue;  // no pulse, nothing to check
    // The launches take every job in a row on one device.
    if (!group.empty() && jobs[group.front()].w.device() != w.device()) flush();
    group.push_back(k);
  }
  flush();
  return results;
}

}  // namespace analog::cuda_glue
