#ifndef VQLAB_K_UNISTD_H
#define VQLAB_K_UNISTD_H
/* PAGE_SIZE in tools/virtio's linux/kernel.h. */
static inline int getpagesize(void) { return 4096; }
#endif
