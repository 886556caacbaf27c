// Host/device annotation shared by the CPU (g++) and CUDA (nvcc) builds of the kernel math.
#pragma once

#if defined(__CUDACC__)
#define ANALOG_HOST_DEVICE __host__ __device__
#else
#define ANALOG_HOST_DEVICE
#endif
