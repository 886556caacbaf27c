// Mapped NaN/inf flags in pinned host memory, from a pool of reused slabs.
#include "cuda/mapped_flags.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <c10/util/Exception.h>

#include "cuda/cuda_check.h"
#include "cuda/device_context.h"

namespace analog::cuda_glue {
namespace {

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

}  // namespace

MappedFlags::MappedFlags(int64_t count)
    : count_(count), stream_(current_stream()), device_index_(current_device()) {
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
    // for the stream (a host sync).
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
    while (!all_written() && std::chrono::steady_clock::now() < until) std::this_thread::yield();
    if (!all_written()) {
      const DeviceGuard guard(at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(device_index_)));
      ANALOG_CUDA_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(stream_)));
      TORCH_CHECK(all_written(), "analogtorch: a kernel's ", count_,
                  " NaN/inf flags were not all written although its",
                  " stream has finished (did the kernel run on the stream that was current when "
                  "they were made?)");
    }
  }
  std::atomic_thread_fence(std::memory_order_acquire);
  done_ = true;
  return host_;
}

std::function<void()> defer_check(std::shared_ptr<MappedFlags> flags,
                                  std::function<void(const int32_t*)> decode) {
  if (!flags) return {};
  return [flags = std::move(flags), decode = std::move(decode)] { decode(flags->wait()); };
}

}  // namespace analog::cuda_glue
