// Torch glue of the CUDA kernels: checks, device guard, ATen GEMMs between the element stages.
// With ANALOG_CUDA_EMULATION (tests only) the same glue runs on CPU tensors and the kernels run
// in cuda/emulation.h.
#include "cuda/tile_cuda.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#ifndef ANALOG_CUDA_EMULATION
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

#include "analog/kernels/io_math.h"
#include "analog/nonfinite_error.h"
#include "cpu/pulsed_update_cpu.h"
#include "cuda/cuda_check.h"
#include "cuda/io_pipeline_cuda.h"
#include "cuda/pulsed_update_cuda.h"
#include "tile/contiguous_rows.h"

namespace analog::cuda_glue {
namespace {

cuda::IoSpec io_spec(const IOParameters& io, bool use_bm, bool zero_flag) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  cuda::IoSpec s{};
  s.noise_management = static_cast<int>(io.noise_management());
  s.nm_thres = static_cast<float>(io.nm_thres());
  s.inp_bound = io.inp_bound() > 0 ? static_cast<float>(io.inp_bound()) : kInf;
  s.out_bound = io.out_bound() > 0 ? static_cast<float>(io.out_bound()) : kInf;
  s.in_step = kernels::converter_step(static_cast<float>(io.inp_res()), s.inp_bound);
  s.out_step = kernels::converter_step(static_cast<float>(io.out_res()), s.out_bound);
  s.inp_noise = static_cast<float>(io.inp_noise());
  s.out_noise = static_cast<float>(io.out_noise());
  s.w_noise = io.w_noise_type() == WeightNoiseType::kNone ? 0.0f : static_cast<float>(io.w_noise());
  s.w_noise_type = s.w_noise <= 0.0f ? 0 : io.w_noise_type() == WeightNoiseType::kPcmRead ? 2 : 1;
  s.max_bm_factor = static_cast<float>(io.max_bm_factor());
  s.max_bm_res = static_cast<float>(io.max_bm_res());
  s.in_sto = io.inp_sto_round();
  s.out_sto = io.out_sto_round();
  s.neg_hit = io.bm_test_negative_bound();
  s.bm_on = use_bm && io.bound_management() == BoundManagement::kIterative;
  s.zero_shortcut_needs_no_inp_noise = zero_flag;
  return s;
}

/// `words` rounded up to a multiple of 64 (256 bytes, as a separate allocation would be aligned):
/// where one allocation holds several buffers.
int64_t aligned_words(int64_t words) { return (words + 63) / 64 * 64; }

cuda::UpdateSpec update_spec(const UpdateParameters& up, const PulsedDevice& dev, float lr) {
  cuda::UpdateSpec spec{};
  spec.lr = lr;
  spec.dw_min = static_cast<float>(dev.dw_min());
  spec.um_grad_scale = static_cast<float>(up.um_grad_scale());
  spec.dw_min_std = static_cast<float>(dev.dw_min_std());
  spec.res_step = up.res() > 0 ? kernels::converter_step(static_cast<float>(up.res()), 0.5f) : 0.0f;
  spec.desired_bl = static_cast<int>(up.desired_bl());
  spec.fixed_bl = up.fixed_bl();
  spec.ublm = up.update_bl_management();
  spec.um = up.update_management();
  spec.sto_round = up.sto_round();
  spec.model = dev.model();
  spec.mult_noise = dev.mult_noise();
  return spec;
}

#ifdef ANALOG_CUDA_EMULATION
struct DeviceGuard {
  explicit DeviceGuard(const at::Device& /*device*/) {}
};
void* current_stream() { return nullptr; }
int current_device() { return 0; }
bool on_kernel_device(const at::Tensor& t) { return t.is_cpu(); }
#else
using DeviceGuard = c10::cuda::CUDAGuard;
void* current_stream() { return c10::cuda::getCurrentCUDAStream().stream(); }
int current_device() { return c10::cuda::current_device(); }
bool on_kernel_device(const at::Tensor& t) { return t.is_cuda(); }
#endif

/// Pinned host memory mapped into the devices' address space, in slabs that are reused: freed
/// slabs wait in a process-wide pool (cudaFreeHost would sync the device). The pool is never
/// destroyed, so that slabs held by thread-local or static objects can still return at exit.
struct HostSlab {
  int32_t* host;
  int32_t* device;
  int64_t ints;
};

struct SlabPool {
  std::mutex mutex;
  std::vector<HostSlab*> free;
};

SlabPool& slab_pool() {
  static auto* pool = new SlabPool;
  return *pool;
}

std::shared_ptr<HostSlab> take_slab(int64_t ints) {
  auto& pool = slab_pool();
  HostSlab* slab = nullptr;
  {
    std::lock_guard<std::mutex> lock(pool.mutex);
    for (auto it = pool.free.begin(); it != pool.free.end(); ++it) {
      if ((*it)->ints == ints) {
        slab = *it;
        pool.free.erase(it);
        break;
      }
    }
  }
  if (slab == nullptr) {
    void* host = nullptr;
    void* device = nullptr;
    ANALOG_CUDA_CHECK(cudaHostAlloc(&host, static_cast<size_t>(ints) * sizeof(int32_t),
                                    cudaHostAllocMapped | cudaHostAllocPortable));
    const cudaError_t error = cudaHostGetDevicePointer(&device, host, 0);
    if (error != cudaSuccess) cudaFreeHost(host);
    ANALOG_CUDA_CHECK(error);
    slab = new HostSlab{static_cast<int32_t*>(host), static_cast<int32_t*>(device), ints};
  }
  return std::shared_ptr<HostSlab>(slab, [](HostSlab* done) {
    auto& pool = slab_pool();
    std::lock_guard<std::mutex> lock(pool.mutex);
    pool.free.push_back(done);
  });
}

/// `count` ints of mapped host memory: a piece of the thread's current 64 KiB slab (the seven
/// checks of an MNIST MLP training step, 640 ints, take a slab every 25 steps), or for more than
/// a quarter slab a slab of their own (a power of two of ints, so that it is reused). Returns the
/// slab and the piece's offset.
std::pair<std::shared_ptr<HostSlab>, int64_t> host_piece(int64_t count) {
  constexpr int64_t kSlab = 16384;
  if (count > kSlab / 4) {
    int64_t ints = kSlab;
    while (ints < count) ints *= 2;
    return {take_slab(ints), 0};
  }
  thread_local std::shared_ptr<HostSlab> slab;
  thread_local int64_t used = 0;
  if (!slab || used + count > kSlab) {
    slab = take_slab(kSlab);
    used = 0;
  }
  const int64_t offset = used;
  used += count;
  return {slab, offset};
}

/// A view of `block` at `offset` ints: no allocation, no dispatch. It holds the block, so it may
/// outlive the call (an MVM's reduction factors).
at::Tensor view_of(const at::Tensor& block, int64_t offset, at::IntArrayRef sizes, at::ScalarType dtype) {
  return at::for_blob(block.data_ptr<int32_t>() + offset, sizes)
      .deleter([block](void*) {})
      .options(block.options().dtype(dtype))
      .target_device(block.device())  // (else it asks the driver where the pointer lives)
      .make_tensor();
}

}  // namespace

MappedFlags::MappedFlags(int64_t count) : count_(count), stream_(current_stream()), device_index_(current_device()) {
  auto [slab, offset] = host_piece(count);
  host_ = slab->host + offset;
  device_ = slab->device + offset;
  slab_ = std::move(slab);
  std::fill(host_, host_ + count, kUnwritten);
}

MappedFlags::~MappedFlags() {
  // A kernel may still write them: wait for it before the piece can be handed out again (on
  // the flags' device: the handle of a default stream means the current device's).
  if (!done_ && !all_written()) {
    try {
      const DeviceGuard guard(at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(device_index_)));
      cudaStreamSynchronize(static_cast<cudaStream_t>(stream_));
    } catch (...) {  // errors (of the device switch, or the sync's): nobody to tell in a destructor
    }
  }
}

bool MappedFlags::all_written() const {
  for (int64_t i = 0; i < count_; ++i) {
    // Written by the device behind the compiler's back: a fresh load each time.
    if (__atomic_load_n(host_ + i, __ATOMIC_RELAXED) == kUnwritten) return false;
  }
  return true;
}

const int32_t* MappedFlags::wait() {
  if (done_) return host_;
  if (!all_written()) {
    // The kernel may still be queued: spin a little (it is usually about to finish), then wait
    // for the stream (a host sync, as the event wait of a copy was).
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
    while (!all_written() && std::chrono::steady_clock::now() < until) std::this_thread::yield();
    if (!all_written()) {
      const DeviceGuard guard(at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(device_index_)));
      ANALOG_CUDA_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(stream_)));
      TORCH_CHECK(all_written(), "analogtorch: a kernel's ", count_, " NaN/inf flags were not all written although its",
                  " stream has finished (did the kernel run on the stream that was current when they were made?)");
    }
  }
  std::atomic_thread_fence(std::memory_order_acquire);
  done_ = true;
  return host_;
}

std::function<void()> defer_check(std::shared_ptr<MappedFlags> flags, std::function<void(const int32_t*)> decode) {
  if (!flags) return {};
  return [flags = std::move(flags), decode = std::move(decode)] { decode(flags->wait()); };
}

cpu::MvmResult io_mvm_cuda(const at::Tensor& x, const at::Tensor& w, bool transposed,
                           const IOParameters& io, bool use_bm, bool zero_flag, uint64_t key,
                           uint64_t call, const char* what, float mask_bound) {
  TORCH_CHECK(on_kernel_device(w) && x.device() == w.device(), what, ": expected x on ", w.device(),
              ", got ", x.device());
  TORCH_CHECK(has_contiguous_rows(x) && w.is_contiguous() && x.scalar_type() == at::kFloat &&
                  w.scalar_type() == at::kFloat,
              what, ": expected float32 tensors, w contiguous and x with contiguous rows");
  DeviceGuard guard(x.device());
  const int64_t batch = x.size(0), n = x.size(1);
  TORCH_CHECK(batch <= INT32_MAX, what, ": expected at most 2^31 - 1 rows, got ", batch);  // one block each
  const at::Tensor op = transposed ? w : w.t();
  const int64_t m = op.size(1);
  cpu::MvmResult r;
  const bool with_mask = mask_bound > 0.0f;
  if (batch == 0 || m == 0) {
    r.y = at::zeros({batch, m}, x.options());
    r.reduction = at::ones({batch}, x.options());
    if (with_mask) r.mask = at::zeros({batch, m}, x.options().dtype(at::kBool));
    return r;
  }
  // The output (and the mask), and one allocation for the rest of the call (each allocation is
  // host time, which a small layer is bound by), its parts 256-byte aligned as separate
  // allocations would be (cuBLAS likes aligned matrices). None is filled here: the kernels write
  // every word (prepare the row state and reduction = 1; the ADC y and the mask; the GEMM yq). In
  // ints: [0, batch) active (not the zero short-cut); [batch, 2 batch) alpha; [2 batch, 3 batch)
  // the reduction factor (float); then xq [batch, n] and yq [batch, m] (float). The reduction is
  // a view that holds the block while it lives (the tile drops it at once). y and the mask, which
  // outlive the call (the mask until the backward pass), are allocations of their own: as views
  // they would hold the scratch too, and y is the caller's, an ordinary torch result
  // (record_stream and the like work on it). The rows that hold a NaN or inf are flagged in
  // mapped host memory and checked deferred: a bad input is reported after its NaNs flowed into
  // outputs that are thrown away.
  r.y = at::empty({batch, m}, x.options());
  const bool analog_io = !io.is_perfect();
  const int64_t state_words = aligned_words(3 * batch);
  const int64_t xq_words = analog_io ? aligned_words(batch * n) : 0, yq_words = analog_io ? batch * m : 0;
  const at::Tensor block = at::empty({state_words + xq_words + yq_words}, x.options().dtype(at::kInt));
  int32_t* active = block.data_ptr<int32_t>();
  auto* alpha = reinterpret_cast<float*>(active + batch);
  r.reduction = view_of(block, 2 * batch, {batch}, at::kFloat);
  at::Tensor xq, yq;  // scratch: views that need not hold the block (it outlives them)
  if (analog_io) {
    const auto scratch = [&](int64_t at_word, int64_t cols) {
      return at::for_blob(active + at_word, {batch, cols}).options(x.options()).target_device(x.device()).make_tensor();
    };
    xq = scratch(state_words, n);
    yq = scratch(state_words + xq_words, m);  // mm_out writes it
  }
  const cuda::IoSpec spec = io_spec(io, use_bm, zero_flag);
  // Noise management, the checks and (unless the IO is perfect) the DAC of round 0: one launch.
  auto bad = std::make_shared<MappedFlags>(batch);
  cuda::launch_io_prepare(x.data_ptr<float>(), row_stride(x), batch, n, spec, key, call, alpha, r.reduction.data_ptr<float>(),
                          active, bad->device(), xq.defined() ? xq.data_ptr<float>() : nullptr, current_stream());
  r.check = defer_check(std::move(bad), [what = std::string(what), batch, n](const int32_t* host) {
    for (int64_t b = 0; b < batch; ++b) {
      ANALOG_CHECK_FINITE(host[b] == 0, what, ": expected finite inputs, got a non-finite value in row ", b,
                          " of a [", batch, ", ", n, "] input");
    }
  });
  if (!analog_io) {
    at::mm_out(r.y, x, op);
    if (with_mask) r.mask = r.y.abs() >= mask_bound;
    return r;
  }
  if (with_mask) r.mask = at::empty({batch, m}, x.options().dtype(at::kBool));
  // The GEMM; the ADC with the bound-management re-runs of the saturated rows: with prepare,
  // three launches, whatever the rows do.
  at::mm_out(yq, xq, op);
  at::Tensor wn;  // round 0's weight-noise scales; the kernel writes those of the re-runs
  if (spec.w_noise_type == 2) {
    wn = (xq * xq).mm(op.abs()).sqrt_();
  } else if (spec.w_noise_type == 1) {
    wn = xq.norm(2, {1}, true).expand({batch, m}).contiguous();
  }
  cuda::launch_io_adc(x.data_ptr<float>(), row_stride(x), w.data_ptr<float>(), transposed, batch, n, m, alpha,
                      r.reduction.data_ptr<float>(), active, spec, key, call, xq.data_ptr<float>(),
                      yq.data_ptr<float>(), wn.defined() ? wn.data_ptr<float>() : nullptr, r.y.data_ptr<float>(),
                      with_mask ? reinterpret_cast<uint8_t*>(r.mask.data_ptr<bool>()) : nullptr, mask_bound,
                      current_stream());
  return r;
}

std::function<void()> pulsed_update_cuda(const at::Tensor& w, const cpu::DeviceArrays& devices, const at::Tensor& x,
                                         const at::Tensor& d, const UpdateParameters& up, const PulsedDevice& dev,
                                         float lr, uint64_t key, uint64_t first_call) {
  return pulsed_update_cuda_many({UpdateJob{w, devices, x, d, &up, &dev, lr, key, first_call}}).front();
}

std::vector<std::function<void()>> pulsed_update_cuda_many(const std::vector<UpdateJob>& jobs) {
  std::vector<std::function<void()>> checks(jobs.size());
  // The jobs for the kernels, in launches of up to kMaxUpdateTiles tiles of one device.
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
    std::vector<int64_t> ws_at, nf_at, flags_at;  // each job's workspace, its flags there, its host flags
    int64_t words = 0, flag_count = 0;
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
      t.slopes = t.up.model == DeviceModel::kLinearStep ? j.devices.slopes.data_ptr<float>() : nullptr;
      t.x = j.x.data_ptr<float>();
      t.d = j.d.data_ptr<float>();
      t.workspace = workspace.data_ptr<int32_t>() + ws_at[i];
      t.non_finite = workspace.data_ptr<int32_t>() + nf_at[i];
      t.non_finite_host = host_flags->device() + flags_at[i];
    }
    cuda::launch_pulsed_updates(tiles.data(), static_cast<int>(tiles.size()), current_stream());
    // The kernels left a tile's W unchanged if its check failed; the check reports the first bad
    // sample, x before d, as the CPU path does.
    for (size_t i = 0; i < group.size(); ++i) {
      const int64_t samples = tiles[i].samples, at_flag = flags_at[i];
      checks[group[i]] = defer_check(host_flags, [samples, at_flag](const int32_t* all) {
        const int32_t* flags = all + at_flag;
        for (int64_t s = 0; s < samples; ++s) {
          ANALOG_CHECK_FINITE(flags[s] == 0, "AnalogTile.update: expected finite inputs x, got NaN or inf in sample ", s);
          ANALOG_CHECK_FINITE(flags[samples + s] == 0,
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
    TORCH_CHECK(w.is_contiguous() && devices.is_contiguous() && has_contiguous_rows(j.x) && j.d.is_contiguous() &&
                    on_kernel_device(w) && j.x.device() == w.device() && j.d.device() == w.device() &&
                    devices.device() == w.device(),
                "AnalogTile.update: expected tensors on ", w.device(), ", contiguous (x: contiguous rows)");
    TORCH_CHECK(j.dev->model() != DeviceModel::kLinearStep || j.devices.slopes_fit(w),
                "AnalogTile.update: a linear_step device needs its slopes [", w.size(0), ", ", w.size(1),
                ", 2] on ", w.device());
    TORCH_CHECK(j.x.size(0) <= INT32_MAX, "AnalogTile.update: expected at most 2^31 - 1 samples, got ", j.x.size(0));
  }
  for (size_t k = 0; k < jobs.size(); ++k) {
    const UpdateJob& j = jobs[k];
    const at::Tensor& w = j.w;
    if (j.up->pulse_type() != PulseType::kStochasticCompressed) {
      // Sequential deterministic rules: run them on a CPU copy. Its NaN/inf error (W unchanged)
      // comes back as the job's check, as the kernels' does.
      DeviceGuard guard(w.device());
      at::Tensor w_cpu = w.cpu();
      cpu::DeviceArrays arrays;
      arrays.params = j.devices.params.cpu();
      if (j.devices.slopes.defined()) arrays.slopes = j.devices.slopes.cpu();
      try {
        cpu::pulsed_update_cpu(w_cpu, arrays, j.x.cpu(), j.d.cpu(), *j.up, *j.dev, j.lr, j.key, j.first_call);
      } catch (const NonFiniteError&) {
        checks[k] = [error = std::current_exception()] { std::rethrow_exception(error); };
        continue;
      }
      w.copy_(w_cpu);
      continue;
    }
    if (j.x.size(0) == 0 || j.x.size(1) == 0 || j.d.size(1) == 0) continue;  // no pulse, nothing to check
    // A launch takes up to kMaxUpdateTiles jobs in a row on one device.
    if (!group.empty() && (jobs[group.front()].w.device() != w.device() ||
                           static_cast<int>(group.size()) == cuda::kMaxUpdateTiles)) {
      flush();
    }
    group.push_back(k);
  }
  flush();
  return checks;
}

const TileKernels& tile_kernels() {
  static const TileKernels kernels{
      "cuda", &io_mvm_cuda,
      [](const at::Tensor& w, const cpu::DeviceArrays& devices, const at::Tensor& x, const at::Tensor& d,
         const UpdateParameters& up, const PulsedDevice& dev, float lr, uint64_t key, uint64_t first_call) {
        // Diffusion and decay run in the tile's post_update_step.
        return pulsed_update_cuda(w, devices, x, d, up, dev, lr, key, first_call);
      },
      &pulsed_update_cuda_many};
  return kernels;
}

#ifndef ANALOG_CUDA_EMULATION
void set_host_wait(const at::Device& device, HostWait wait) {
  static constexpr unsigned kSchedule[] = {cudaDeviceScheduleAuto, cudaDeviceScheduleSpin, cudaDeviceScheduleYield,
                                           cudaDeviceScheduleBlockingSync};
  const DeviceGuard guard(device);
  // (Mapped host memory, which the NaN/inf flags use, stays on: it always is with unified addressing.)
  ANALOG_CUDA_CHECK(cudaSetDeviceFlags(kSchedule[static_cast<int>(wait)] | cudaDeviceMapHost));
}
#endif

#ifdef ANALOG_CUDA_EMULATION
StreamScope::StreamScope(const at::Device& /*device*/) : guard_(nullptr) {}
StreamScope::~StreamScope() = default;
#else
StreamScope::StreamScope(const at::Device& device)
    : guard_(new c10::cuda::CUDAStreamGuard(c10::cuda::getStreamFromPool(false, device.index()))) {}

StreamScope::~StreamScope() { delete static_cast<c10::cuda::CUDAStreamGuard*>(guard_); }
#endif

}  // namespace analog::cuda_glue
