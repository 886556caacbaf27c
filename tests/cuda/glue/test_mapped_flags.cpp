// The mapped NaN/inf flags of the CUDA glue (csrc/cuda/mapped_flags.cpp): each pending check reads
// its own flags, and flags a kernel did not write are an error.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "analog/config/rpu_config.h"
#include "analog/nn/analog_linear.h"
#include "analog/nonfinite_error.h"
#include "analog/optim/analog_sgd.h"
#include "analog/train/trainer.h"
#include "cpu/device_sampling_cpu.h"
#include "cpu/io_pipeline_cpu.h"
#include "cpu/pulsed_update_cpu.h"
#include "cuda/cuda_test_support.h"
#include "cuda/glue/glue_test_support.h"
#include "cuda/mapped_flags.h"
#include "cuda/runtime.h"
#include "cuda/tile_kernels_cuda.h"
#include "support/test_support.h"
#include "tile/kernel_specs.h"
#include "tile/tile_kernels.h"

namespace analog {
namespace {

using cuda_test::CudaGlue;

// The flags of pending checks share mapped host slabs (16384 ints each): 400 checks, most of 64
// flags, fill a slab and start another one or two; a check of more than 4096 flags gets a slab of
// its own. Each check must read its own flags, from a slab that lives as long as the check: a
// piece handed out twice, or a slab reused under a pending check, would show one call's flags to
// another. Freed slabs are reused: once the pool holds as many slabs as a round needs at once
// (after two rounds: the first slab of a round may start less empty than the last's), a round of
// checks allocates no host memory.
TEST_F(CudaGlue, ManyPendingChecksEachReadTheirOwnFlags) {
#ifdef ANALOG_CUDA_EMULATION
  const auto host_allocs = [] { return cuda::emulation::counters().host_allocs; };
#endif
  constexpr int kCalls = 400;
  // 64 flags a call; every 50th call 5000 (a large batch: a slab of its own, not a piece).
  const auto rows_of = [](int call) -> int64_t { return call % 50 == 7 ? 5000 : 64; };
  for (int round = 0; round < 4; ++round) {
#ifdef ANALOG_CUDA_EMULATION
    const int64_t allocs_before = host_allocs();
#endif
    std::vector<std::function<void()>> checks;
    std::vector<int64_t> seen(kCalls, -2);
    for (int call = 0; call < kCalls; ++call) {
      const int64_t rows = rows_of(call);
      at::Tensor f = at::zeros({rows}, at::kInt);
      f[(call * 37) % rows] =
          call + 1;  // each call's flags differ: one row set, to the call's number
      auto flags = std::make_shared<cuda_glue::MappedFlags>(rows);
      // What a kernel does: it writes every flag, through the device's address of the memory.
      ASSERT_EQ(cudaMemcpy(flags->device(), f.data_ptr<int32_t>(), rows * 4, cudaMemcpyDefault),
                cudaSuccess);
      checks.push_back(
          cuda_glue::defer_check(std::move(flags), [&seen, call, rows](const int32_t* host) {
            int64_t set = -1;
            for (int64_t b = 0; b < rows; ++b) {
              if (host[b] != 0)
                set = set == -1 && host[b] == call + 1 ? b : -3;  // -3: a wrong or a second value
            }
            seen[static_cast<size_t>(call)] = set;
          }));
    }
    for (int call = kCalls - 1; call >= 0; --call) {  // the oldest slab's checks last
      ASSERT_TRUE(static_cast<bool>(checks[static_cast<size_t>(call)]));
      checks[static_cast<size_t>(call)]();
      checks[static_cast<size_t>(call)] = nullptr;  // a check's slab may go with the last of them
      EXPECT_EQ(seen[static_cast<size_t>(call)], (call * 37) % rows_of(call))
          << "round " << round << " call " << call;
    }
#ifdef ANALOG_CUDA_EMULATION  // (the emulated runtime counts the allocations)
    if (round >= 2)
      EXPECT_EQ(host_allocs() - allocs_before, 0)
          << "round " << round << ": freed slabs are reused";
#endif
  }
  EXPECT_FALSE(static_cast<bool>(cuda_glue::defer_check(nullptr, [](const int32_t*) {})));
}

// Flags that the stream finished without writing (a kernel that did not run) are an error that
// says so, not a hang and not a pass.
TEST_F(CudaGlue, UnwrittenFlagsAreAnError) {
  auto flags = std::make_shared<cuda_glue::MappedFlags>(3);
  const int32_t written[2] = {0, 0};
  ASSERT_EQ(cudaMemcpy(flags->device(), written, sizeof written, cudaMemcpyDefault),
            cudaSuccess);  // not the third
  const auto check = cuda_glue::defer_check(
      std::move(flags), [](const int32_t*) { FAIL() << "decoded unwritten flags"; });
  const std::string error = test::error_of([&] { check(); });
  EXPECT_THAT(error, HasSubstr("3 NaN/inf flags were not all written"));
}

}  // namespace
}  // namespace analog
