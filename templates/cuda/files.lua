-- templates/cuda/files.lua: the files the CUDA target renders (each from NAME.in,
-- here or in templates/common/). The host side (forward.c) stays C; the kernel
-- instances and their launchers are CUDA C++ (kernels.cu).
return { "config.h", "weights.h", "kernels.h", "kernels.cu", "forward.c", "manifest.c" }
