// Marks arithmetic that CPU and CUDA code share, so one definition serves both.
#pragma once

#if defined(__CUDACC__)
#define SPARE_HOST_DEVICE __host__ __device__
#else
#define SPARE_HOST_DEVICE
#endif
