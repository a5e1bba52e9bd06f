/* tools/virtio's linux/compiler.h, plus what virtio_ring.c 6.1 also takes from the kernel's. */
#ifndef VQLAB_K_LINUX_COMPILER_H
#define VQLAB_K_LINUX_COMPILER_H
#include_next <linux/compiler.h>
#define data_race(expr) (expr)
#endif
