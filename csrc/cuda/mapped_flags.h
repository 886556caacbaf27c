// Mapped NaN/inf flags: how the CUDA kernels report bad inputs without making the host wait.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>

namespace analog::cuda_glue {

/// NaN/inf flags that a kernel writes straight into host memory: pinned and mapped into the
/// devices' address space, so that the host reads them with no copy, no event and no runtime
/// call (each such call is host time, and one process's threads queue for them). Every flag
/// starts as kUnwritten and the kernel writes each one; wait() returns them once none is
/// kUnwritten: at once where the host has synced since the launch (a training step reads its
/// loss before its backward pass checks the forward's flags), else after a short spin and then
/// a sync of the stream that was current at construction (on which the kernel must run; that
/// the flags are written says nothing of the kernels queued after their writer). The
/// memory is a piece of a slab shared by the thread's pending flags (64 KiB; a large batch gets
/// a slab of its own); slabs are reused, never freed (cudaFreeHost would sync the device).
class MappedFlags {
 public:
  static constexpr int32_t kUnwritten = INT32_MIN;
  explicit MappedFlags(int64_t count);
  /// Flags that may still be written (never waited for) are waited for here, before their
  /// memory can be handed out again.
  ~MappedFlags();
  MappedFlags(const MappedFlags&) = delete;
  MappedFlags& operator=(const MappedFlags&) = delete;

  /// The flags' address for kernels.
  int32_t* device() const { return device_; }
  /// The host's view, once every flag is written; throws if the stream finished without writing
  /// them all (a kernel that did not run).
  const int32_t* wait();

 private:
  bool all_written() const;

  std::shared_ptr<void> slab_;  ///< holds the memory
  int32_t* host_;
  int32_t* device_;
  int64_t count_;
  void* stream_;
  int device_index_;  ///< the stream's device
  bool done_ = false;
};

/// The check that, when called, waits for `flags` and runs `decode` on them (empty without
/// flags). Nothing waits here: the tile calls the check where the host has synced anyway
/// (tile/tile_kernels.h).
std::function<void()> defer_check(std::shared_ptr<MappedFlags> flags,
                                  std::function<void(const int32_t*)> decode);

}  // namespace analog::cuda_glue
